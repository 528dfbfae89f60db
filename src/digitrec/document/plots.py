"""The reports' plots, drawn with matplotlib's object API on the Agg canvas (no pyplot, no window,
no global state) and returned as PNG bytes. matplotlib is the `plots` extra; it is imported here
only, when a report is drawn.

Each function takes plain numbers (lists, NumPy arrays), never a model or a run directory: what is
measured is decided elsewhere, this module only draws it.
"""

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Series = tuple[Sequence[float], Sequence[float]]  # (x values, y values)


def _figure(width: float, height: float) -> Any:
    from digitrec.extras import require

    require("matplotlib")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry: the same plot gives the same bytes on every run.
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def confusion_heatmap(matrix: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> bytes:
    """Counts per (true, predicted) class; colour on a log scale so that single mistakes show."""
    counts = np.asarray(matrix)
    figure = _figure(5.2, 4.6)
    axes = figure.add_subplot()
    image = axes.imshow(np.log10(1 + counts), cmap="Blues")
    for (row, column), value in np.ndenumerate(counts):
        if value:
            strong = np.log10(1 + value) > 0.6 * np.log10(1 + counts.max())
            axes.text(
                column,
                row,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if strong else "black",
            )
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, label="log10(1 + count)", shrink=0.8)
    return _png(figure)


def learning_curves(history: Sequence[dict[str, Any]], title: str) -> bytes:
    """Accuracy and loss per epoch, from a run's metrics.jsonl (train, validation, test if logged)."""
    figure = _figure(8.5, 3.3)
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    epochs = [row["epoch"] for row in history]
    for split, style in (("train", "-"), ("val", "-"), ("test", "--")):
        if f"{split}_accuracy" in history[0]:
            accuracy = [100 * row[f"{split}_accuracy"] for row in history]
            accuracy_axes.plot(epochs, accuracy, style, marker=".", label=split)
        if f"{split}_loss" in history[0]:
            loss_axes.plot(
                epochs, [row[f"{split}_loss"] for row in history], style, marker=".", label=split
            )
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy (log scale)", title="loss", yscale="log")
    loss_axes.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    loss_axes.yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
    for axes in (accuracy_axes, loss_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def per_class_heatmap(
    rows: Mapping[str, Sequence[float]], classes: Sequence[str], title: str, label: str = "F1"
) -> bytes:
    """One row per model, one column per class, the value written in each cell."""
    values = np.asarray(list(rows.values()), dtype=float)
    figure = _figure(1.2 + 0.62 * len(classes), 0.9 + 0.33 * len(rows))
    axes = figure.add_subplot()
    image = axes.imshow(
        values, cmap="RdYlGn", vmin=max(0.0, float(values.min())), vmax=1.0, aspect="auto"
    )
    for (row, column), value in np.ndenumerate(values):
        axes.text(column, row, f"{value:.3f}", ha="center", va="center", fontsize=7)
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(rows)), list(rows))
    axes.set_xlabel("class")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, label=label, shrink=0.8)
    return _png(figure)


def scatter(
    points: Sequence[tuple[str, float, float]], xlabel: str, ylabel: str, title: str, *, logx: bool
) -> bytes:
    """Labelled points (label, x, y), e.g. test accuracy against parameters or latency."""
    figure = _figure(7.0, 4.4)
    axes = figure.add_subplot()
    for label, x, y in points:
        axes.scatter([x], [y], s=22)
        axes.annotate(label, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
    if logx:
        axes.set_xscale("log")
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    return _png(figure)


def reliability_diagrams(curves: Mapping[str, Sequence[dict[str, float]]], title: str) -> bytes:
    """One small reliability diagram per model: accuracy against mean confidence in each
    confidence bin (bars as wide as the bin's share of examples would be unreadable: the share
    is the marker's area instead), with the diagonal of perfect calibration."""
    columns = min(4, len(curves))
    rows = math.ceil(len(curves) / columns)
    figure = _figure(2.6 * columns + 0.4, 2.5 * rows + 0.4)
    grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for axes, (name, bins) in zip(grid, curves.items(), strict=False):
        confidence = [b["confidence"] for b in bins]
        accuracy = [b["accuracy"] for b in bins]
        share = np.asarray([b["share"] for b in bins])
        axes.plot([0, 1], [0, 1], color="grey", lw=0.8)
        axes.plot(confidence, accuracy, color="tab:blue", lw=0.8)
        axes.scatter(confidence, accuracy, s=8 + 200 * np.sqrt(share), color="tab:blue")
        axes.set(xlim=(0, 1.02), ylim=(0, 1.02), title=name)
        axes.title.set_fontsize(9)
        axes.tick_params(labelsize=7)
    for axes in grid[len(curves) :]:
        axes.set_visible(False)
    figure.supxlabel("confidence", fontsize=9)
    figure.supylabel("accuracy", fontsize=9)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def digit_gallery(
    images: np.ndarray, captions: Sequence[str], title: str, columns: int = 8
) -> bytes:
    """(N, 28, 28) uint8 digits in a grid, each with a caption (e.g. true → predicted, confidence)."""
    count = max(1, len(images))
    rows = math.ceil(count / columns)
    figure = _figure(1.1 * columns, 1.3 * rows + 0.4)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes in grid:
        axes.axis("off")
    for axes, image, caption in zip(grid, images, captions, strict=False):
        axes.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        axes.set_title(caption, fontsize=7)
    if not len(images):
        grid[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def filters(weights: np.ndarray, title: str, limit: int = 64) -> bytes:
    """First-layer convolution filters, (out, in, k, k): each output channel's kernel, summed
    over input channels (one for gray digits), with its own symmetric colour scale."""
    kernels = weights.sum(axis=1)[:limit]
    columns = min(16, len(kernels))
    rows = math.ceil(len(kernels) / columns)
    figure = _figure(0.55 * columns + 0.3, 0.6 * rows + 0.5)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes in grid:
        axes.axis("off")
    for axes, kernel in zip(grid, kernels, strict=False):
        bound = float(np.abs(kernel).max()) or 1.0
        axes.imshow(kernel, cmap="RdBu_r", vmin=-bound, vmax=bound)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def feature_maps(
    image: np.ndarray, layers: Sequence[tuple[str, np.ndarray]], title: str, channels: int = 8
) -> bytes:
    """The input digit, then one row per conv layer: the first `channels` maps of its output
    ((C, H, W) each), each scaled to its own range."""
    rows = len(layers) + 1
    figure = _figure(0.95 * (channels + 2.2), 0.95 * rows + 0.4)
    grid = figure.subplots(rows, channels, squeeze=False)
    for axes in grid.ravel():
        axes.axis("off")
    grid[0, 0].imshow(image, cmap="gray_r", vmin=0, vmax=255)
    grid[0, 0].set_title("input", fontsize=7)
    for row, (name, maps) in enumerate(layers, start=1):
        for column in range(min(channels, len(maps))):
            grid[row, column].imshow(maps[column], cmap="viridis")
        grid[row, 0].text(
            -0.15, 0.5, name, transform=grid[row, 0].transAxes, ha="right", va="center", fontsize=7
        )
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def lines(
    series: Mapping[str, Series],
    xlabel: str,
    ylabel: str,
    title: str,
    *,
    errors: Mapping[str, Sequence[float]] | None = None,
    marks: Mapping[str, Series] | None = None,
    logx: bool = False,
    xticks: Sequence[float] | None = None,
) -> bytes:
    """Lines with markers, one per label; `errors` adds ± bars, `marks` adds unconnected points
    (e.g. a paper's reported numbers)."""
    figure = _figure(7.0, 4.2)
    axes = figure.add_subplot()
    for label, (xs, ys) in series.items():
        bars = (errors or {}).get(label)
        if bars is not None and any(bars):
            axes.errorbar(xs, ys, yerr=bars, marker=".", capsize=3, label=label)
        else:
            axes.plot(xs, ys, marker=".", label=label)
    for (label, (xs, ys)), marker in zip((marks or {}).items(), "x+^v", strict=False):
        axes.scatter(xs, ys, marker=marker, s=40, color="black", label=label, zorder=3)
    if logx:
        axes.set_xscale("log")
    if xticks is not None:
        axes.set_xticks(list(xticks), [f"{t:g}" for t in xticks])
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    errors: Sequence[float] | None,
    ylabel: str,
    title: str,
) -> bytes:
    """One bar per label, with ± error bars, the value written above each."""
    figure = _figure(1.0 + 1.1 * len(labels), 3.8)
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    axes.bar(
        positions,
        values,
        yerr=errors if errors is not None and any(errors) else None,
        capsize=4,
        color="tab:blue",
    )
    for x, value in zip(positions, values, strict=True):
        axes.annotate(
            f"{value:.2f}",
            (x, value),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=8,
        )
    low = min(values)
    axes.set_ylim(
        max(0.0, low - 0.25 * (max(values) - low + 1)),
        max(values) + 0.3 * (max(values) - low + 0.2),
    )
    axes.set_xticks(positions, labels, rotation=15, ha="right", fontsize=8)
    axes.set(ylabel=ylabel, title=title)
    axes.grid(alpha=0.3, axis="y")
    return _png(figure)


def before_after(
    labels: Sequence[str],
    before: Sequence[float],
    after: Sequence[float],
    ylabel: str,
    title: str,
    *,
    names: tuple[str, str] = ("before", "after"),
) -> bytes:
    """Two bars per label, before and after, each value written above its bar."""
    figure = _figure(1.6 + 1.5 * len(labels), 3.8)
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    width = 0.38
    for offset, values, name, color in (
        (-width / 2, before, names[0], "tab:gray"),
        (width / 2, after, names[1], "tab:blue"),
    ):
        axes.bar(positions + offset, values, width, label=name, color=color)
        for x, value in zip(positions + offset, values, strict=True):
            axes.annotate(
                f"{value:.2f}", (x, value), textcoords="offset points", xytext=(0, 3),
                ha="center", fontsize=7,
            )  # fmt: skip
    axes.set_ylim(0, max(*before, *after) * 1.15 + 0.5)
    axes.set_xticks(positions, labels, rotation=15, ha="right", fontsize=8)
    axes.set(ylabel=ylabel, title=title)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize=8, loc="lower right")
    return _png(figure)

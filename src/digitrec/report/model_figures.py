"""The figures of one trained model as compare and the studies show it (confusion matrix,
learning curves, most confident mistakes, and for CNNs first-layer filters and feature maps),
and the overview plots of many models."""

from typing import Any

import numpy as np

from digitrec.document import plots
from digitrec.document.content import Block, Figure
from digitrec.report.cache import Measurement, Run

GALLERY = 16  # most confident mistakes shown per model
FEATURE_CHANNELS = 8  # feature maps shown per conv layer


def model_figures(
    label: str,
    slug: str,
    run: Run,
    measurement: Measurement,
    images: np.ndarray,
    labels: np.ndarray,
    split_name: str,
) -> list[Block]:
    """The figures of one model measured on one split. `images`/`labels` are the digits the
    measurement's probabilities belong to; `slug` makes the figure file names unique."""
    metrics = measurement.metrics
    classes = [row["class"] for row in metrics["per_class"]]
    blocks: list[Block] = [
        Figure(
            f"confusion-{slug}",
            f"{label}: confusion matrix on {split_name} (rows true, columns predicted)",
            plots.confusion_heatmap(
                metrics["confusion_matrix"], classes, f"{label} — {split_name}"
            ),
        )
    ]
    history = run.history()
    if "train_accuracy" in history[0]:
        blocks.append(
            Figure(
                f"curves-{slug}",
                f"{label}: accuracy and loss per epoch (metrics.jsonl)",
                plots.learning_curves(history, label),
            )
        )
    blocks.append(mistakes(label, slug, measurement.probabilities(), images, labels, classes))
    blocks += what_it_learned(label, slug, run, images[0])
    return blocks


def mistakes(
    label: str,
    slug: str,
    probabilities: np.ndarray,
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
) -> Figure:
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:GALLERY]
    captions = [f"{classes[labels[i]]}→{classes[predicted[i]]} {confidence[i]:.0%}" for i in worst]
    return Figure(
        f"mistakes-{slug}",
        f"{label}: the {len(worst)} most confident mistakes of {len(wrong)} "
        "(true → predicted, confidence)",
        plots.digit_gallery(images[worst], captions, f"{label}: most confident mistakes"),
    )


def what_it_learned(label: str, slug: str, run: Run, digit: np.ndarray) -> list[Block]:
    """For a network with convolutions: its first layer's filters and, for one digit, the
    feature maps every conv layer outputs. Nothing for MLPs and classic baselines."""
    import torch
    from torch import nn

    from digitrec.models.loading import load_model
    from digitrec.models.modelfile import standardize

    classifier: Any = load_model(run.directory)
    module = getattr(classifier, "module", None)
    if module is None:
        return []
    convs = [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        return []
    outputs: list[tuple[str, np.ndarray]] = []

    def keep(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            outputs.append((name, output[0].detach().float().numpy()))

        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in convs]
    try:
        with torch.inference_mode():
            module(torch.from_numpy(standardize(digit[None])))
    finally:
        for handle in handles:
            handle.remove()
    layers = [(f"{name} {m.shape[0]}×{m.shape[1]}×{m.shape[2]}", m) for name, m in outputs]
    channels = FEATURE_CHANNELS if len(layers) <= 24 else FEATURE_CHANNELS // 2  # DenseNet: ~40
    first = convs[0][1].weight.detach().float().numpy()
    return [
        Figure(
            f"filters-{slug}",
            f"{label}: the {min(64, len(first))} filters of the first conv layer "
            f"({first.shape[2]}×{first.shape[3]}, red positive, blue negative)",
            plots.filters(first, f"{label}: first-layer filters"),
        ),
        Figure(
            f"features-{slug}",
            f"{label}: feature maps of one test digit at each of its {len(layers)} conv layers "
            f"(first {channels} channels of each)",
            plots.feature_maps(digit, layers, f"{label}: feature maps", channels),
        ),
    ]

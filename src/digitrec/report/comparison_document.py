"""The compare report's document: the headline table, the papers' numbers beside ours, the
overview plots and a section per model, from what `comparison.compare` trained and measured."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

import numpy as np

from digitrec.document import plots
from digitrec.document.content import Block, Figure, Report, Section, Table
from digitrec.document.numbers import count, mean_std, megabytes, percent, points, seconds
from digitrec.report.cache import Run, load_digits
from digitrec.report.model_figures import model_figures
from digitrec.report.paper_claims import ALBAYATI_EPOCHS, NAGPAL_EPOCHS
from digitrec.report.settings import Settings, machine_record

if (
    TYPE_CHECKING
):  # comparison.py builds this document from its rows: a runtime import would be a cycle
    from digitrec.report.comparison import ClaimRow, Entry, Measured


def _test_set(run: Run) -> str:
    return "MNIST test" if run.config.scheme == "standard" else "test part of the 80/10/10 split"


def build_report(
    measured: list[Measured], claims: list[ClaimRow], settings: Settings, budget: bool, command: str
) -> Report:
    from digitrec.train import RECIPES

    machine = machine_record(settings)
    rows = []
    for m in measured:
        item, first = m.planned, m.measurements[0].metrics
        epochs = "—" if item.entry.baseline else f"{m.epochs_run:.3g}"
        if not item.entry.baseline and item.epochs < item.paper_epochs:
            epochs += f" of {item.paper_epochs:g}"
        rows.append(
            [
                f"`{item.entry.label}`",
                item.entry.recipe or "—",
                epochs,
                str(item.seeds),
                count(first["parameters"]) if first["parameters"] else "—",
                f"{first['size_bytes'] / 1e6:.2f} MB",
                seconds(m.train_seconds),
                f"{m.mean('latency_ms'):.2f}",
                count(m.mean("throughput_images_per_s") or 0),
                megabytes(m.mean("peak_memory_mb")),
                mean_std(m.val_accuracies),
                mean_std(m.accuracies),
                f"{m.mean('precision_macro'):.4f}",
                f"{m.mean('recall_macro'):.4f}",
                f"{m.mean('f1_macro'):.4f}",
                f"{m.mean('ece'):.4f}",
            ]
        )
    test_sets = sorted({_test_set(r) for m in measured for r in m.runs})
    sizes = {m.measurements[0].metrics["n"] for m in measured}
    results_table = Table(
        [
            "model",
            "recipe",
            "epochs",
            "seeds",
            "parameters",
            "size",
            "training",
            "ms/image",
            "images/s",
            "peak memory",
            "validation",
            "test accuracy",
            "precision",
            "recall",
            "F1",
            "ECE",
        ],
        rows,
        caption=f"Test accuracy: mean ± sample std over seeds, on {' / '.join(test_sets)} "
        f"({', '.join(f'{n:,}' for n in sorted(sizes))} digits). Training: seconds in optimizer "
        "steps (a baseline's fit). ms/image: median single-digit latency; images/s: batched. "
        "Precision, recall, F1: macro averages; ECE: expected calibration error, 15 bins.",
    )
    claims_table = Table(
        [
            "paper",
            "their model",
            "their number",
            "ours",
            "our number",
            "difference",
            "their training",
            "our training",
            "notes",
        ],
        [_claim_cells(row) for row in claims],
        caption="Difference = ours − theirs, in percentage points. Our number is of the same kind "
        "as theirs (test accuracy unless they report validation accuracy), mean over our seeds.",
    )
    settings_lines: list[Block] = []
    for m in measured:
        entry = m.planned.entry
        if entry.baseline:
            card = m.runs[0].card
            settings_lines.append(
                f"`{entry.label}`: scikit-learn fit, arguments {card.get('arguments', {})}."
            )
            continue
        recipe = RECIPES.get(entry.recipe)
        text = f"`{entry.label}`: " + (recipe.summary if recipe else "digitrec train's defaults")
        if recipe and entry.model != recipe.values["model"]:
            text += f" (those settings, applied to `{entry.model}`)"
        if recipe and recipe.assumed:
            text += f". Assumed: {recipe.assumed}"
        if m.planned.epochs < m.planned.paper_epochs:
            text += (
                f". **Shortened** to {m.planned.epochs:g} of {m.planned.paper_epochs:g} epochs "
                "to fit the time budget"
            )
        settings_lines.append(text + ".")
    sections = [
        Section("Results", [results_table]),
        Section(
            "The papers' numbers beside ours",
            [
                claims_table,
                "EMNIST (Tonape & Satarkar's second column) is not measured: there is no copy of "
                "EMNIST on this machine.",
            ],
        ),
        Section("Settings and what we assumed", settings_lines),
        Section("Accuracy against size, speed and calibration", _overview_figures(measured)),
    ]
    digits: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for m in measured:
        sections.append(_model_section(m, settings, digits))
    if settings.is_smoke:
        sections.insert(
            0,
            Section(
                "Smoke run",
                [
                    f"**Not a result**: trained on {settings.limit or 'all'} digits for at most "
                    f"{settings.max_steps or 'unlimited'} steps, measured on {settings.eval_limit or 'all'}"
                    " test digits — this only checks that the pipeline works."
                ],
            ),
        )
    results = {
        "kind": "compare",
        "settings": {
            "seeds": settings.seeds,
            "epochs": settings.epochs,
            "budget": budget,
            "limit": settings.limit,
            "max_steps": settings.max_steps,
            "eval_limit": settings.eval_limit,
        },
        "entries": {m.planned.entry.label: _entry_json(m) for m in measured},
        "claims": [
            {
                "paper": r.claim.paper,
                "their_model": r.claim.their_model,
                "value": r.claim.value,
                "ours": r.claim.ours,
                "dataset": r.claim.dataset,
                "measured": r.measured,
                "difference": None if r.measured is None else r.measured - r.claim.value,
            }
            for r in claims
        ],
    }
    return Report(
        "digitrec compare: the model zoo at the papers' settings",
        command,
        machine,
        sections,
        results,
        summary=f"{len(measured)} models, each trained with the recipe of the paper it comes from "
        "(or measured from the run cache), then measured by `digitrec evaluate` on test digits "
        "no choice ever looked at.",
    )


def _claim_cells(row: ClaimRow) -> list[str]:
    claim = row.claim
    ours = f"`{claim.ours}`" + (f" on `{claim.dataset}`" if claim.dataset != "mnist" else "")
    if row.entry is None:
        measured, difference, our_time = "not run", "—", "—"
    elif row.measured is None:
        measured, difference, our_time = "n/a", "—", seconds(row.entry.train_seconds)
    else:
        measured = percent(row.measured)
        difference = points(row.measured - claim.value)
        our_time = seconds(row.entry.train_seconds)
    return [
        claim.paper,
        claim.their_model,
        f"{percent(claim.value)} ({claim.measure})",
        ours,
        measured,
        difference,
        seconds(claim.train_seconds),
        our_time,
        claim.note or "—",
    ]


def _entry_json(m: Measured) -> dict[str, Any]:
    keys = (
        "accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "ece",
        "log_loss",
        "parameters",
        "size_bytes",
        "latency_ms",
        "throughput_images_per_s",
        "peak_memory_mb",
        "n",
    )
    return {
        "model": m.planned.entry.model,
        "recipe": m.planned.entry.recipe,
        "epochs": m.planned.epochs,
        "paper_epochs": m.planned.paper_epochs,
        "seeds": m.planned.seeds,
        "accuracy_mean": statistics.mean(m.accuracies),
        "accuracy_std": statistics.stdev(m.accuracies) if len(m.accuracies) > 1 else None,
        "runs": [
            {
                "seed": run.config.seed,
                "run": str(run.directory),
                "reused": run.reused,
                "scheme": run.config.scheme,
                "val_accuracy": float(run.card["metrics"]["val_accuracy"]),
                "train_seconds": run.train_seconds,
                "epochs_run": run.epochs_run,
                **{k: measurement.metrics[k] for k in keys},
            }
            for run, measurement in zip(m.runs, m.measurements, strict=True)
        ],
    }


def _overview_figures(measured: list[Measured]) -> list[Block]:
    labels = [m.planned.entry.label for m in measured]
    accuracy = [100 * statistics.mean(m.accuracies) for m in measured]
    with_params = [
        (label, float(m.measurements[0].metrics["parameters"]), acc)
        for label, m, acc in zip(labels, measured, accuracy, strict=True)
        if m.measurements[0].metrics["parameters"]
    ]
    latency = [
        (label, float(m.mean("latency_ms") or 0), acc)
        for label, m, acc in zip(labels, measured, accuracy, strict=True)
    ]
    first = measured[0].measurements[0].metrics
    classes = [row["class"] for row in first["per_class"]]
    f1 = {
        label: [
            float(np.mean([ms.metrics["per_class"][c]["f1"] for ms in m.measurements]))
            for c in range(len(classes))
        ]
        for label, m in zip(labels, measured, strict=True)
    }
    reliability = {
        label: m.measurements[0].metrics["reliability"]
        for label, m in zip(labels, measured, strict=True)
    }
    return [
        Figure(
            "accuracy-vs-parameters",
            "Test accuracy (mean over seeds) against parameters",
            plots.scatter(
                with_params,
                "parameters (log scale)",
                "test accuracy (%)",
                "accuracy vs parameters",
                logx=True,
            ),
        ),
        Figure(
            "accuracy-vs-latency",
            "Test accuracy against single-digit latency",
            plots.scatter(
                latency,
                "latency, one digit (ms, log scale)",
                "test accuracy (%)",
                "accuracy vs latency",
                logx=True,
            ),
        ),
        Figure(
            "per-class-f1",
            "F1 per class and model (mean over seeds)",
            plots.per_class_heatmap(f1, classes, "per-class F1"),
        ),
        Figure(
            "reliability",
            "Reliability diagrams (seed 0): accuracy against confidence per "
            "confidence bin; marker area ∝ share of digits; diagonal = perfectly calibrated",
            plots.reliability_diagrams(reliability, "reliability (after temperature scaling)"),
        ),
    ]


def _model_section(
    m: Measured, settings: Settings, digits: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]
) -> Section:
    """Per-seed numbers and the figures of seed 0. `digits` caches the test digits per scheme."""
    label = m.planned.entry.label
    run, measurement = m.runs[0], m.measurements[0]
    key = (run.config.scheme, settings.eval_limit)
    if key not in digits:
        digits[key] = load_digits("mnist", "test", key[0], key[1], settings.source)
    images, labels = digits[key]
    per_seed = Table(
        ["seed", "run", "validation", "test accuracy", "F1", "ECE", "training"],
        [
            [
                str(r.config.seed),
                f"`{r.directory}`",
                percent(float(r.card["metrics"]["val_accuracy"])),
                percent(x.metrics["accuracy"]),
                f"{x.metrics['f1_macro']:.4f}",
                f"{x.metrics['ece']:.4f}",
                seconds(r.train_seconds),
            ]
            for r, x in zip(m.runs, m.measurements, strict=True)
        ],
    )
    slug = label.replace("@", "-at-")
    blocks: list[Block] = [per_seed, *_paper_epochs(m.planned.entry, run)]
    blocks += model_figures(label, slug, run, measurement, images, labels, _test_set(run))
    return Section(f"{label}", blocks)


def _paper_epochs(entry: Entry, run: Run) -> list[Block]:
    """Al-Bayati's and Nagpal et al.'s per-epoch numbers beside seed 0's (the epochs study runs
    30 epochs and adds the test curve)."""
    history = run.history()
    if entry.recipe == "albayati" and entry.model == "cnn-small":
        rows = [
            [
                str(r["epoch"]),
                percent(r["train_accuracy"]),
                percent(r["val_accuracy"]),
                percent(ALBAYATI_EPOCHS[r["epoch"]][0]),
                percent(ALBAYATI_EPOCHS[r["epoch"]][2]),
            ]
            for r in history
            if r["epoch"] in ALBAYATI_EPOCHS
        ]
        columns = [
            "epoch",
            "our train",
            "our validation",
            "Al-Bayati train",
            "Al-Bayati validation",
        ]
    elif entry.recipe == "nagpal" and entry.model == "cnn-wide":
        previous = [0.0] + [r["seconds"] for r in history]
        rows = [
            [
                str(r["epoch"]),
                percent(r["train_accuracy"]),
                percent(NAGPAL_EPOCHS[r["epoch"]][0]),
                seconds(r["seconds"] - before),
                seconds(NAGPAL_EPOCHS[r["epoch"]][2]),
            ]
            for r, before in zip(history, previous, strict=False)
            if r["epoch"] in NAGPAL_EPOCHS
        ]
        columns = ["epoch", "our train", "Nagpal et al. train", "our epoch", "their epoch"]
    else:
        return []
    return [Table(columns, rows, caption="The paper's epoch table beside our seed 0.")]

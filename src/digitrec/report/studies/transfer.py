"""The transfer study: Tonape & Satarkar's transfer-learning claim made measurable. A CNN trained on
MNIST (Al-Bayati's recipe) is fine-tuned on USPS with 10, 100 or 1000 labelled digits, against the
same network trained on those digits from random weights: the same optimizer (Adam at the recipe's
1e-3), steps, batches and seeds, so the initial weights are the only difference. Measured on the USPS test split (2,007 digits, brought to MNIST's format by the shared
preprocessing). The MNIST model measured on USPS without any USPS label is the zero-shot row.

N labels are N random digits of the USPS training split (seeded, not balanced per class); the
validation split is cut to N as well, since a few-label user has no more.
"""

import math

from digitrec.document import plots
from digitrec.document.content import Figure, Section, Table
from digitrec.document.numbers import mean_std, percent, points
from digitrec.report.live import LiveTable
from digitrec.report.paper_claims import TONAPE
from digitrec.report.settings import Settings
from digitrec.report.studies.measure import (
    Group,
    Progress,
    StudyResult,
    measure_on,
    train_and_measure,
)

PRETRAIN = "albayati"
LABELS = (10, 100, 1000, 0)  # 0 = every USPS training digit (6,683)
SMOKE_LABELS = (10, 100)
STEPS = 300  # at least this many optimizer steps per run (and at least MIN_EPOCHS epochs)
MIN_EPOCHS = 10
BATCH = 32
TARGET = "usps"


def epochs_for(labels: int, all_labels: int) -> int:
    """Epochs giving at least STEPS steps of batch BATCH on `labels` digits (0 = all)."""
    steps_per_epoch = math.ceil((labels or all_labels) / BATCH)
    return max(MIN_EPOCHS, math.ceil(STEPS / steps_per_epoch))


def study(settings: Settings) -> StudyResult:
    from digitrec import data
    from digitrec.train import RECIPES

    recipe = RECIPES[PRETRAIN]
    label_counts = SMOKE_LABELS if settings.is_smoke else LABELS
    all_labels = len(data.load(TARGET, "train", settings.usps_source))
    progress = Progress(1 + len(label_counts) * 2 * settings.seeds)
    progress.next(f"pretraining {recipe.values['model']} on MNIST ({PRETRAIN} recipe)")
    pretrain_values = recipe.values | {"recipe": PRETRAIN, "seed": 0}
    if settings.epochs:
        pretrain_values["epochs"] = settings.epochs
    pretrained, _ = train_and_measure(pretrain_values, settings)
    zero_shot = measure_on(pretrained, TARGET, settings).metrics["accuracy"]
    live = LiveTable(
        f"transfer study: MNIST -> USPS test accuracy (zero-shot {percent(zero_shot)})",
        ["labels", "seed", "from scratch", "fine-tuned"],
        [6, 4, 12, 12],
    )
    groups: dict[tuple[int, str], Group] = {}
    for labels in label_counts:
        for seed in range(settings.seeds):
            cells = []
            for start in ("scratch", "fine-tuned"):
                progress.next(f"{labels or all_labels} labels, {start}, seed {seed}")
                values = {
                    "model": recipe.values["model"],
                    "dataset": TARGET,
                    "optimizer": "adam",
                    "lr": 1e-3,
                    "batch_size": BATCH,
                    "epochs": epochs_for(labels, all_labels),
                    "seed": seed,
                    "limit": labels,
                    "init": str(pretrained.directory) if start == "fine-tuned" else "",
                }
                run, measurement = train_and_measure(values, settings, dataset=TARGET)
                groups.setdefault((labels, start), Group()).add(run, measurement)
                cells.append(percent(measurement.metrics["accuracy"]))
            live.add([str(labels or all_labels), str(seed), *cells])
    rows = []
    for labels in label_counts:
        scratch, tuned = groups[(labels, "scratch")], groups[(labels, "fine-tuned")]
        rows.append(
            [
                f"{labels or all_labels:,}" + ("" if labels else " (all)"),
                str(epochs_for(labels, all_labels)),
                mean_std(scratch.accuracies),
                mean_std(tuned.accuracies),
                points(tuned.mean - scratch.mean),
            ]
        )
    table = Table(
        ["USPS labels", "epochs", "from scratch", "fine-tuned from MNIST", "gain"],
        rows,
        caption=f"USPS test accuracy, mean ± std over {settings.seeds} seed(s); "
        f"the MNIST model without fine-tuning (zero-shot): {percent(zero_shot)}. Both columns: "
        f"Adam 1e-3, batch {BATCH}, at least {STEPS} steps.",
    )
    xs = [labels or all_labels for labels in label_counts]
    figure = Figure(
        "transfer",
        "USPS test accuracy against the number of USPS labels (mean ± std over seeds)",
        plots.lines(
            {
                "fine-tuned from MNIST": (
                    xs,
                    [100 * groups[(n, "fine-tuned")].mean for n in label_counts],
                ),
                "from scratch": (xs, [100 * groups[(n, "scratch")].mean for n in label_counts]),
                "MNIST model, no USPS labels": (xs, [100 * zero_shot] * len(xs)),
            },
            "USPS training labels (log scale)",
            "USPS test accuracy (%)",
            "MNIST → USPS",
            errors={
                "fine-tuned from MNIST": [
                    100 * groups[(n, "fine-tuned")].std for n in label_counts
                ],
                "from scratch": [100 * groups[(n, "scratch")].std for n in label_counts],
            },
            logx=True,
            xticks=xs,
        ),
    )
    note = (
        f"{TONAPE} credit transfer learning (a ResNet-18 feature extractor) for part of their "
        "99.2% on MNIST, but give no experiment that isolates it. Here the source and target are "
        "different digit sets, so what pretraining adds is measured directly: the gain column."
    )
    results = {
        "pretrained": str(pretrained.directory),
        "zero_shot_accuracy": zero_shot,
        "usps_train_digits": all_labels,
        "labels": {
            str(n or all_labels): {s: groups[(n, s)].to_json() for s in ("scratch", "fine-tuned")}
            for n in label_counts
        },
    }
    return StudyResult(
        "digitrec study transfer: MNIST → USPS with few labels",
        f"{recipe.values['model']} pretrained on MNIST ({PRETRAIN} recipe), fine-tuned on "
        f"{', '.join(str(n or 'all') for n in label_counts)} USPS labels, against training from "
        "scratch on the same labels.",
        [Section("Results", [table, figure, note])],
        results,
    )

"""The epochs study: training, validation and test accuracy after each of epochs 1-30, for the two
papers that print an epoch table (Al-Bayati's Table 7, Nagpal et al.'s training log), with their
numbers beside ours.

Both recipes keep a constant learning rate, so the weights after epoch k of one 30-epoch run are
exactly those of a k-epoch run: one run per seed gives the whole curve. Test accuracy is logged for
the curve only (`report_test`); the "chosen" epoch is the one with the best validation accuracy.
"""

import statistics
from typing import Any

from digitrec.document import plots
from digitrec.document.content import Block, Figure, Section, Table
from digitrec.document.numbers import percent
from digitrec.report.live import LiveTable
from digitrec.report.paper_claims import ALBAYATI_EPOCHS, NAGPAL_EPOCHS
from digitrec.report.settings import Settings
from digitrec.report.studies.measure import Group, Progress, StudyResult, train_and_measure

EPOCHS = 30
RECIPES = ("albayati", "nagpal")


def study(settings: Settings) -> StudyResult:
    from digitrec.train import RECIPES as ALL_RECIPES

    epochs = settings.epochs or EPOCHS
    live = LiveTable(
        f"epochs study: accuracy after each epoch (mean over {settings.seeds} seeds)",
        ["recipe", "epoch", "train", "val", "test", "paper"],
        [10, 5, 7, 7, 7, 16],
    )
    progress = Progress(len(RECIPES) * settings.seeds)
    sections, results = [], {}
    summary_rows = []
    for recipe in RECIPES:
        group = Group()
        for seed in range(settings.seeds):
            progress.next(f"{recipe} seed {seed}: {epochs:g} epochs")
            values = ALL_RECIPES[recipe].values | {
                "recipe": recipe,
                "epochs": epochs,
                "seed": seed,
                "report_test": True,
            }
            group.add(*train_and_measure(values, settings))
        curve = _mean_curve([run.history() for run in group.runs])
        for row in curve:
            live.add(
                [
                    recipe,
                    str(row["epoch"]),
                    percent(row["train_accuracy"]),
                    percent(row["val_accuracy"]),
                    percent(row["test_accuracy"]),
                    _paper_cell(recipe, row["epoch"]),
                ]
            )
        best = max(curve, key=lambda row: row["val_accuracy"])  # chosen on validation only
        summary_rows.append(_summary_row(recipe, curve, best))
        sections.append(_recipe_section(recipe, curve, group))
        results[recipe] = {"curve": curve, "best_val_epoch": best["epoch"], **group.to_json()}
    headline = Table(
        [
            "recipe",
            "model",
            "epoch with best validation",
            "its validation",
            "its test",
            "test after 10 epochs",
            f"test after {curve[-1]['epoch']}",
            "paper",
        ],
        summary_rows,
        caption="Mean over seeds. The test accuracy of the epoch chosen on validation is the "
        "number to quote; the per-epoch test column only draws the curve.",
    )
    return StudyResult(
        "digitrec study epochs: accuracy against epochs",
        "Al-Bayati (cnn-small) and Nagpal et al. (cnn-wide) print per-epoch numbers for 10 "
        f"epochs; we train their recipes for {epochs:g} and log every epoch.",
        [Section("Summary", [headline]), *sections],
        results,
    )


def _mean_curve(histories: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per epoch, the mean over seeds of each logged number (epochs all seeds reached)."""
    length = min(len(h) for h in histories)
    keys = (
        "train_accuracy",
        "train_loss",
        "val_accuracy",
        "val_loss",
        "test_accuracy",
        "test_loss",
        "seconds",
    )
    return [
        {"epoch": e + 1, **{k: statistics.mean(h[e][k] for h in histories) for k in keys}}
        for e in range(length)
    ]


def _paper_cell(recipe: str, epoch: int) -> str:
    if recipe == "albayati" and epoch in ALBAYATI_EPOCHS:
        return f"val {percent(ALBAYATI_EPOCHS[epoch][2])}"
    if recipe == "nagpal" and epoch in NAGPAL_EPOCHS:
        return f"train {percent(NAGPAL_EPOCHS[epoch][0])}"
    return "—"


def _summary_row(recipe: str, curve: list[dict[str, Any]], best: dict[str, Any]) -> list[str]:
    from digitrec.train import RECIPES

    at_10 = next((r for r in curve if r["epoch"] == 10), None)
    paper = {
        "albayati": "99.03% test after 10 epochs; best validation 99.03% at epoch 9",
        "nagpal": "99.37% test after 10 epochs",
    }[recipe]
    return [
        recipe,
        f"`{RECIPES[recipe].values['model']}`",
        str(best["epoch"]),
        percent(best["val_accuracy"]),
        percent(best["test_accuracy"]),
        percent(at_10["test_accuracy"]) if at_10 else "—",
        percent(curve[-1]["test_accuracy"]),
        paper,
    ]


def _recipe_section(recipe: str, curve: list[dict[str, Any]], group: Group) -> Section:
    epochs = [row["epoch"] for row in curve]
    series = {
        f"ours: {split}": (epochs, [100 * row[f"{split}_accuracy"] for row in curve])
        for split in ("train", "val", "test")
    }
    if recipe == "albayati":
        paper = {
            "Al-Bayati: train": (
                [e for e in ALBAYATI_EPOCHS],
                [100 * v[0] for v in ALBAYATI_EPOCHS.values()],
            ),
            "Al-Bayati: val": (
                [e for e in ALBAYATI_EPOCHS],
                [100 * v[2] for v in ALBAYATI_EPOCHS.values()],
            ),
        }
        columns = ["paper train", "paper val"]
    else:
        paper = {
            "Nagpal et al.: train": (
                [e for e in NAGPAL_EPOCHS],
                [100 * v[0] for v in NAGPAL_EPOCHS.values()],
            )
        }
        columns = ["paper train"]
    rows = []
    for row in curve:
        e = row["epoch"]
        if recipe == "albayati":
            theirs = (
                [percent(ALBAYATI_EPOCHS[e][0]), percent(ALBAYATI_EPOCHS[e][2])]
                if e in ALBAYATI_EPOCHS
                else ["—", "—"]
            )
        else:
            theirs = [percent(NAGPAL_EPOCHS[e][0])] if e in NAGPAL_EPOCHS else ["—"]
        rows.append(
            [
                str(e),
                percent(row["train_accuracy"]),
                percent(row["val_accuracy"]),
                percent(row["test_accuracy"]),
                f"{row['val_loss']:.4f}",
                *theirs,
                f"{row['seconds']:.0f} s",
            ]
        )
    table = Table(
        ["epoch", "train", "validation", "test", "val loss", *columns, "training so far"],
        rows,
        caption="Ours: mean over seeds. Train accuracy is measured during the epoch, on "
        "augmented digits where the recipe augments (as Keras reports it).",
    )
    blocks: list[Block] = [
        table,
        Figure(
            f"epochs-{recipe}",
            f"{recipe}: accuracy after each epoch, ours (lines) and the paper's (crosses)",
            plots.lines(
                series, "epoch", "accuracy (%)", f"{recipe}: accuracy per epoch", marks=paper
            ),
        ),
    ]
    return Section(f"{recipe} (`{group.runs[0].config.model}`)", blocks)

"""The regression gate of a model trained on corrections: the base model and the new one on the
same sets, before and after, and a verdict.

The sets: the held-out corrections (the newest rows of the store's snapshot, by time: they must
improve), MNIST test and the real validation sets this machine has fetched (USPS, CVL's held-out
writers: none may fall by more than its tolerance). The record goes into the run as gate.json
(what `digitrec models promote` reads), with a report beside it (gate/report.md, .html, .json and
a before/after plot).

MNIST test is in the gate because the issue asks for it: once it decides promotions, it is no
longer a clean test set for the promoted lineage — report accuracy on data no gate has seen.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import DigitrecError, UsageError
from digitrec.storage import atomic_write_json

TOLERANCE_PP = 0.05  # MNIST test may fall by at most this (percentage points)
DEV_TOLERANCE_PP = 0.25  # each real validation set (a few hundred to 1,336 digits) by this
DEV_SETS = {"usps": "USPS val", "cvl": "CVL val"}  # the real validation sets a gate may use


@dataclass(frozen=True)
class GateSet:
    name: str
    images: Any  # digits: (N, 28, 28) uint8; numbers, lines: a list of (H, W) uint8 images
    labels: Any  # digits: (N,) ints; numbers, lines: a list of digit strings
    rule: str  # "improve" (must rise), "hold" (may fall by `tolerance_pp`), "report" (shown only)
    tolerance_pp: float = 0.0
    task: str = "digits"  # "digits" (a classifier's), "numbers" (images `read` reads), "lines"


def gate_sets(
    snapshot: Path,
    *,
    tolerance_pp: float = TOLERANCE_PP,
    dev_tolerance_pp: float = DEV_TOLERANCE_PP,
    dev: tuple[str, ...] = tuple(DEV_SETS),
) -> tuple[list[GateSet], list[str]]:
    """The sets to measure on, and a note for each set that could not be loaded here."""
    from digitrec import data
    from digitrec.data.feedback_sets import stored_digits

    stored = stored_digits(snapshot)
    cut = stored.held_out_from()
    held = slice(cut, None)
    corrected = np.flatnonzero(stored.corrected[held])
    sets = [
        GateSet("held-out feedback", stored.images[held], stored.labels[held], "improve"),
        GateSet(
            "held-out corrections",
            stored.images[held][corrected],
            stored.labels[held][corrected],
            "report",
        ),
    ]
    notes: list[str] = []
    mnist = data.load("mnist", "test")
    sets.append(GateSet("MNIST test", mnist.images, mnist.labels, "hold", tolerance_pp))
    for spec in dev:
        name = DEV_SETS[spec]
        if not fetched(spec):
            notes.append(f"{name}: not measured (`digitrec data fetch {spec}` first)")
            continue
        try:
            digits = data.load(spec, "val")
        except DigitrecError as error:
            notes.append(f"{name}: not measured ({error})")
            continue
        from digitrec.preprocess import to_mnist_format

        images = to_mnist_format(digits.images, f"{spec} val")
        sets.append(GateSet(name, images, digits.labels, "hold", dev_tolerance_pp))
    return sets, notes


def fetched(spec: str) -> bool:
    """Whether this machine has fetched the dataset's files (a gate measures what is here)."""
    from digitrec.home import dataset_dir

    folder = dataset_dir(spec)
    return folder.is_dir() and any(folder.iterdir())


def accuracy(model: str | Path, sets: list[GateSet]) -> list[float | None]:
    """The model's accuracy on each set, in percent (None for an empty set); figures measured
    before with the same weights on the same set come from `measured`."""
    from digitrec.learning.measured import remembered, set_digest, weights_digest
    from digitrec.models.loading import load_model
    from digitrec.models.modelfile import resolve_model_path

    weights = weights_digest(resolve_model_path(str(model)))

    @cache
    def classifier() -> Any:  # loaded only when a figure is not remembered
        loaded = load_model(model)
        if len(loaded.card.classes) != 10:
            raise UsageError(
                f"{model}: {len(loaded.card.classes)} classes; the gate's sets have 10"
            )
        return loaded

    found: list[float | None] = []
    for each in sets:
        if len(each.labels) == 0:
            found.append(None)
            continue

        def measure(each: GateSet = each) -> float:
            predicted = classifier().predict_proba(each.images).argmax(1)
            return 100.0 * float(np.mean(predicted == each.labels))

        key = f"digits:{weights}:{set_digest(each.images, each.labels)}"
        found.append(remembered(key, measure))
    return found


def judge(
    sets: list[GateSet], before: list[float | None], after: list[float | None]
) -> dict[str, Any]:
    """The verdict: promotable when every "improve" set rose and no "hold" set fell by more than
    its tolerance. The record lists every set with its figures and whether it passed."""
    rows, failures = [], []
    for each, old, new in zip(sets, before, after, strict=True):
        row: dict[str, Any] = {
            "set": each.name,
            "task": "digits" if each.task == "digits" else "numbers",
            "items": len(each.labels),
            "rule": each.rule,
            "tolerance_pp": each.tolerance_pp,
            "before": None if old is None else round(old, 4),
            "after": None if new is None else round(new, 4),
        }
        if old is None or new is None:
            passed = each.rule != "improve"  # nothing held out: nothing shows a gain
        elif each.rule == "improve":
            passed = new > old
        elif each.rule == "hold":
            passed = new >= old - each.tolerance_pp - 1e-9
        else:
            passed = True
        row["change_pp"] = None if old is None or new is None else round(new - old, 4)
        row["passed"] = passed
        rows.append(row)
        if not passed:
            failures.append(_why(each, old, new))
    verdict = (
        "promotable: the held-out corrections improved and nothing fell past its tolerance"
        if not failures
        else "refused: " + "; ".join(failures)
    )
    return {"promotable": not failures, "verdict": verdict, "sets": rows}


def _why(each: GateSet, old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return f"{each.name} is empty"
    if each.rule == "improve":
        return f"{each.name} did not improve ({old:.2f}% → {new:.2f}%)"
    return (
        f"{each.name} fell {old - new:.2f} pp ({old:.2f}% → {new:.2f}%; "
        f"tolerance {each.tolerance_pp:g} pp)"
    )


def write_gate(run: Path, record: dict[str, Any], command: str) -> Path:
    """gate.json in the run, and gate/report.{md,html,json} with the before/after table and plot."""
    from digitrec.document.content import Figure, Report, Section, Table, write_report
    from digitrec.document.plots import before_after
    from digitrec.provenance import provenance

    atomic_write_json(run / "gate.json", record)
    shown = [row for row in record["sets"] if row["before"] is not None]
    table = Table(
        ["set", "items", "rule", "before %", "after %", "change pp", "passed"],
        [
            [
                row["set"],
                f"{row['items']} {row.get('task', 'digits')}",
                {"improve": "must improve", "hold": f"may fall ≤ {row['tolerance_pp']:g} pp"}.get(
                    row["rule"], "shown"
                ),
                _percent(row["before"]),
                _percent(row["after"]),
                "—" if row["change_pp"] is None else f"{row['change_pp']:+.2f}",
                "yes" if row["passed"] else "**no**",
            ]
            for row in record["sets"]
        ],
    )
    figure = Figure(
        "gate",
        "accuracy of the base model (before) and the new one (after) on every set of the gate",
        before_after(
            [row["set"] for row in shown],
            [row["before"] for row in shown],
            [row["after"] for row in shown],
            "accuracy (%)",
            "the gate: before and after",
        ),
    )
    blocks: list[Any] = [record["verdict"], table, figure, *record.get("notes", [])]
    report = Report(
        title="The gate of a model trained on corrections",
        command=command,
        machine=provenance(),
        sections=[Section("Verdict", blocks)],
        results=record,
        summary=_summary(run, record),
    )
    write_report(report, run / "gate")
    return run / "gate.json"


def _summary(run: Path, record: dict[str, Any]) -> str:
    said = []
    if record.get("base_path"):
        said.append(f"Base model `{record['base']}`, new model `{run / 'model.safetensors'}`.")
    if record.get("reader_base_path"):
        said.append(
            f"Base reader `{record['reader_base']}`, new reader `{run / 'reader' / 'reader.safetensors'}`."
        )
    return " ".join(said)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"

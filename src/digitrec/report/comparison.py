"""`compare()`: train (or take from the cache) and measure a list of models at the papers' settings,
then write one report with our numbers beside the papers'.

An entry of the list is a model (`cnn-deep`: trained with the recipe of the paper it comes from,
`MODEL_RECIPES`), a recipe (`tonape`: its model), or `MODEL@RECIPE` (`resnet18@albayati`: that
model with that recipe's settings). `zoo` means every network and every classic baseline.

Time budget: the papers' full settings would take many hours on a 2-core CPU (ResNet-18 alone runs
about 11 minutes per epoch), so unless `budget=False` each model trains for at most `BUDGET`'s
epochs and seeds; the report says where a run is shorter than its paper's. The budget was chosen
with scripts/estimate_compare_time.py so that `compare(zoo)` fits in an hour on 2 idle cores.
"""

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import UsageError
from digitrec.report import plots
from digitrec.report.cache import Measurement, Run, ensure_run, load_digits, measure
from digitrec.report.document import Block, Figure, Report, Section, Table, write_report
from digitrec.report.papers import ALBAYATI_EPOCHS, CLAIMS, NAGPAL_EPOCHS, Claim
from digitrec.report.runner import (
    LiveTable,
    Settings,
    announce,
    apply_threads,
    count,
    machine_record,
    mean_std,
    megabytes,
    percent,
    points,
    seconds,
)
from digitrec.report.sections import model_figures

# The recipe each network is compared with: its own paper's, else the closest paper's settings.
MODEL_RECIPES = {
    "mlp": "kushwaha",
    "lenet5": "kushwaha",
    "cnn-small": "albayati",
    "cnn-wide": "nagpal",
    "cnn-deep": "tonape",
    "resnet18": "agrahari",
    "densenet": "agrahari",
    "mobilenet": "agrahari",
    "pytorch-example": "pytorch-example",
    "fast": "fast",
    "default": "default",
}


@dataclass(frozen=True)
class Budget:
    epochs: float  # at most this many epochs (the recipe's, if fewer)
    seeds: int  # at most this many seeds


# Per model, what `compare --models zoo --seeds 3` can afford in an hour on 2 idle cores. Estimated
# seconds per epoch there (scripts/estimate_compare_time.py --calibrate: 1-thread timings scaled by
# the `default` recipe's known step time): mlp 4, lenet5 5, cnn-small 10 (13 measured), cnn-wide 49,
# cnn-deep 185, resnet18 660-1000, densenet 245, mobilenet 63, pytorch-example 38, fast 8, default
# 30. With validation after every epoch and the final measurements (two test passes per run: for
# resnet18 and cnn-svm about 1.5 minutes each), this plan comes to an estimated 48 minutes.
BUDGET: dict[str, Budget] = {
    "mlp": Budget(10, 2),
    "lenet5": Budget(10, 2),
    "cnn-small": Budget(10, 2),
    "cnn-wide": Budget(6, 1),
    "cnn-deep": Budget(1, 1),
    "resnet18": Budget(0.25, 1),
    "densenet": Budget(0.6, 1),
    "mobilenet": Budget(3, 1),
    "pytorch-example": Budget(4, 1),
    "fast": Budget(1, 3),
    "default": Budget(8, 1),
    "svm": Budget(1, 1),
    "knn": Budget(1, 1),
    "decision-tree": Budget(1, 3),
    "random-forest": Budget(1, 1),
    "logreg": Budget(1, 1),
    "cnn-svm": Budget(1, 1),
}
OTHER_BUDGET = Budget(3, 1)  # a model added to the zoo since the budget was set


@dataclass(frozen=True)
class Entry:
    label: str  # as shown in the report
    model: str
    recipe: str  # "" for baselines and networks without a recipe
    values: dict[str, Any]  # TrainConfig values before the report's settings

    @property
    def baseline(self) -> bool:
        from digitrec.baselines import BASELINES

        return self.model in BASELINES


def resolve_entries(names: list[str]) -> list[Entry]:
    """The entries a --models list names (see the module docstring)."""
    from digitrec.baselines import BASELINES
    from digitrec.models.zoo import MODELS
    from digitrec.train import RECIPES

    expanded: list[str] = []
    for name in names:
        groups = {"zoo": [*MODELS, *BASELINES], "networks": list(MODELS), "baselines": [*BASELINES]}
        expanded += groups.get(name, [name])
    entries = []
    for name in expanded:
        model, _, recipe = name.partition("@")
        if not recipe and model in RECIPES and model not in MODELS:
            model, recipe = RECIPES[model].values["model"], model
        if model not in MODELS and model not in BASELINES:
            known = ", ".join([*MODELS, *BASELINES, *RECIPES, "zoo", "networks", "baselines"])
            raise UsageError(f"--models: unknown model or recipe {name!r}; known: {known}")
        if model in BASELINES:
            if recipe:
                raise UsageError(f"--models {name}: classic baselines take no recipe")
            entries.append(Entry(model, model, "", {"model": model}))
            continue
        recipe = recipe or MODEL_RECIPES.get(model, "")
        if recipe and recipe not in RECIPES:
            raise UsageError(f"--models {name}: unknown recipe {recipe!r}")
        values = dict(RECIPES[recipe].values) if recipe else {}
        values.update(model=model, recipe=recipe)
        label = model if recipe == MODEL_RECIPES.get(model, "") else f"{model}@{recipe}"
        entries.append(Entry(label, model, recipe, values))
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise UsageError("--models lists the same model twice")
    return entries


@dataclass
class Planned:
    entry: Entry
    epochs: float  # what runs
    paper_epochs: float  # what the recipe says
    seeds: int


def plan(entries: list[Entry], settings: Settings, budget: bool) -> list[Planned]:
    from digitrec.train import TrainConfig

    planned = []
    for entry in entries:
        paper = float(entry.values.get("epochs", TrainConfig.epochs))
        limit = BUDGET.get(entry.model, OTHER_BUDGET) if budget else None
        epochs = settings.epochs or (min(paper, limit.epochs) if limit else paper)
        seeds = min(settings.seeds, limit.seeds) if limit else settings.seeds
        planned.append(Planned(entry, 1.0 if entry.baseline else epochs, paper, seeds))
    return planned


@dataclass
class Measured:
    planned: Planned
    runs: list[Run]
    measurements: list[Measurement]

    @property
    def accuracies(self) -> list[float]:
        return [m.metrics["accuracy"] for m in self.measurements]

    def mean(self, key: str) -> float | None:
        values = [m.metrics[key] for m in self.measurements]
        return None if any(v is None for v in values) else statistics.mean(values)

    @property
    def val_accuracies(self) -> list[float]:
        return [float(r.card["metrics"]["val_accuracy"]) for r in self.runs]

    @property
    def train_seconds(self) -> float:
        return statistics.mean(r.train_seconds for r in self.runs)

    @property
    def epochs_run(self) -> float:
        return statistics.mean(r.epochs_run for r in self.runs)


def compare(
    models: list[str],
    out: Path,
    settings: Settings | None = None,
    *,
    budget: bool = True,
    command: str = "",
) -> Report:
    """Train or reuse, measure, and write the report into `out`; returns it."""
    from digitrec.train import TrainConfig

    settings = settings or Settings()
    apply_threads(settings.threads)
    planned = plan(resolve_entries(models), settings, budget)
    live = LiveTable(
        "compare (MNIST test)",
        ["model", "recipe", "epochs", "seed", "params", "train", "ms/img", "val", "test"],
        [18, 16, 6, 4, 11, 9, 7, 7, 7],
    )
    measured: list[Measured] = []
    total = sum(p.seeds for p in planned)
    done = 0
    for item in planned:
        runs, measurements = [], []
        for seed in range(item.seeds):
            done += 1
            values = item.entry.values | settings.train_values() | {"seed": seed}
            if not item.entry.baseline:
                values["epochs"] = item.epochs
            config = TrainConfig(**values)
            announce(f"[{done}/{total}] {item.entry.label} seed {seed}: training or from cache")
            run = ensure_run(config, settings.runs, settings.source)
            measurement = measure(
                run, "mnist", "test", source=settings.source, limit=settings.eval_limit
            )
            runs.append(run)
            measurements.append(measurement)
            m = measurement.metrics
            live.add(
                [
                    item.entry.label,
                    item.entry.recipe or "—",
                    f"{run.epochs_run:.3g}",
                    str(seed),
                    count(m["parameters"]) if m["parameters"] else "—",
                    seconds(run.train_seconds),
                    f"{m['latency_ms']:.2f}",
                    percent(float(run.card["metrics"]["val_accuracy"])),
                    percent(m["accuracy"]),
                ]
            )
        measured.append(Measured(item, runs, measurements))
    claims = [_claim_row(claim, measured, settings) for claim in CLAIMS]
    report = _build_report(measured, claims, settings, budget, command)
    write_report(report, out)
    return report


@dataclass
class ClaimRow:
    claim: Claim
    entry: Measured | None
    measured: float | None  # mean over seeds of our number of the same kind


def _claim_row(claim: Claim, measured: list[Measured], settings: Settings) -> ClaimRow:
    entry = next((m for m in measured if m.planned.entry.label == claim.ours), None)
    if entry is None:
        return ClaimRow(claim, None, None)
    if claim.measure.endswith("validation accuracy"):
        return ClaimRow(claim, entry, statistics.mean(entry.val_accuracies))
    if claim.dataset == "mnist":
        return ClaimRow(claim, entry, statistics.mean(entry.accuracies))
    if any(run.config.scheme != "standard" for run in entry.runs):
        return ClaimRow(claim, entry, None)  # noisy MNIST is made from the official test split
    values = [
        measure(run, claim.dataset, "test", source=settings.source, limit=settings.eval_limit)
        for run in entry.runs
    ]
    return ClaimRow(claim, entry, statistics.mean(v.metrics["accuracy"] for v in values))


def _test_set(run: Run) -> str:
    return "MNIST test" if run.config.scheme == "standard" else "test part of the 80/10/10 split"


def _build_report(
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

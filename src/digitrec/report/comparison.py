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

from digitrec.document.content import Report, write_report
from digitrec.document.numbers import count, percent, seconds
from digitrec.errors import UsageError
from digitrec.report.cache import Measurement, Run, ensure_run, measure
from digitrec.report.live import LiveTable, announce
from digitrec.report.paper_claims import CLAIMS, Claim
from digitrec.report.settings import Settings, apply_threads

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
    from digitrec.report.comparison_document import build_report

    report = build_report(measured, claims, settings, budget, command)
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

"""Measuring a study's runs: train one config through the cache and measure it, and summarize a
group of seeds (StudyResult, Group, Progress)."""

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitrec.document.content import Section
from digitrec.report.cache import Measurement, Run, ensure_run, measure
from digitrec.report.live import announce
from digitrec.report.settings import Settings


@dataclass
class StudyResult:
    title: str
    summary: str
    sections: list[Section]
    results: dict[str, Any] = field(default_factory=dict)  # report.json's numbers

    def smoke_section(self, settings: Settings) -> Section:
        return Section(
            "Smoke run",
            [
                f"**Not a result**: trained on {settings.limit or 'all'} digits for at most "
                f"{settings.max_steps or 'unlimited'} steps, measured on "
                f"{settings.eval_limit or 'all'} test digits — this only checks that the "
                "study runs end to end."
            ],
        )


class Progress:
    """Numbers the runs of a study, for the progress lines on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def next(self, what: str) -> None:
        self.done += 1
        announce(f"[{self.done}/{self.total}] {what}")


def train_and_measure(
    values: dict[str, Any], settings: Settings, *, dataset: str = "mnist"
) -> tuple[Run, Measurement]:
    """Train `values` (TrainConfig fields; the report's settings added) through the cache and
    measure the run on `dataset`'s test split."""
    from digitrec.train import TrainConfig

    config = TrainConfig(**(settings.train_values() | values))
    run = ensure_run(config, settings.runs, source_for(config.dataset, settings))
    return run, measure_on(run, dataset, settings)


def measure_on(run: Run, dataset: str, settings: Settings) -> Measurement:
    return measure(
        run, dataset, "test", source=source_for(dataset, settings), limit=settings.eval_limit
    )


def source_for(dataset: str, settings: Settings) -> Path | None:
    """Where a dataset's files are: USPS from --usps-source, MNIST and noisy MNIST from --source."""
    return settings.usps_source if dataset.startswith("usps") else settings.source


@dataclass
class Group:
    """The runs of one setting over seeds."""

    runs: list[Run] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)

    def add(self, run: Run, measurement: Measurement) -> None:
        self.runs.append(run)
        self.measurements.append(measurement)

    @property
    def accuracies(self) -> list[float]:
        return [m.metrics["accuracy"] for m in self.measurements]

    @property
    def val_accuracies(self) -> list[float]:
        return [float(r.card["metrics"]["val_accuracy"]) for r in self.runs]

    @property
    def mean(self) -> float:
        return statistics.mean(self.accuracies)

    @property
    def std(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    @property
    def train_seconds(self) -> float:
        return statistics.mean(r.train_seconds for r in self.runs)

    @property
    def parameters(self) -> int:
        return int(self.measurements[0].metrics["parameters"])

    def to_json(self) -> dict[str, Any]:
        return {
            "accuracy_mean": self.mean,
            "accuracy_std": self.std if len(self.runs) > 1 else None,
            "runs": [
                {
                    "seed": r.config.seed,
                    "run": str(r.directory),
                    "dataset": m.dataset,
                    "accuracy": m.metrics["accuracy"],
                    "val_accuracy": float(r.card["metrics"]["val_accuracy"]),
                    "train_seconds": r.train_seconds,
                    "n": m.metrics["n"],
                }
                for r, m in zip(self.runs, self.measurements, strict=True)
            ],
        }

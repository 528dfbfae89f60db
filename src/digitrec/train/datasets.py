"""The splits a training run uses, loaded once the same way for networks and classic baselines:
verified files, the configured split scheme, `--limit`, and digits in MNIST's 28×28 format."""

from dataclasses import dataclass
from pathlib import Path

from digitrec import data
from digitrec.data.digitset import DigitSet
from digitrec.errors import UsageError
from digitrec.preprocess import to_mnist_format
from digitrec.train.config import TrainConfig


@dataclass(frozen=True)
class TrainingData:
    train: DigitSet
    val: DigitSet
    test: DigitSet | None  # only when asked for (learning curves); never used to choose
    checksums: dict[str, str]  # SHA-256 of the dataset's files, for config.json


def load_training_data(
    config: TrainConfig, source: Path | None, *, with_test: bool = False
) -> TrainingData:
    report = data.fetch(config.dataset, source)
    splits = data.load_splits(config.dataset, source, data.SplitConfig(scheme=config.scheme))
    if "train" not in splits or "val" not in splits:
        raise UsageError(f"{config.dataset} is test-only: there is no training split to train on")
    classes = splits["train"].classes
    if len(classes) != 10:
        raise UsageError(f"{config.dataset} has {len(classes)} classes; models here take 10")
    train = _mnist_format(splits["train"].limited(config.limit, config.seed))
    val = _mnist_format(splits["val"].limited(config.limit, config.seed))
    if len(train) == 0:
        raise UsageError(f"{config.dataset}: the training split is empty")
    # --limit cuts the test split too: a smoke run's per-epoch test curve need not read 10,000
    test = (
        _mnist_format(splits["test"].limited(config.limit, config.seed))
        if with_test and "test" in splits
        else None
    )
    return TrainingData(train, val, test, dict(report.checksums) if report else {})


def _mnist_format(digits: DigitSet) -> DigitSet:
    images = to_mnist_format(digits.images, f"{digits.name} {digits.split}")
    return DigitSet(digits.name, digits.split, images, digits.labels, digits.classes)

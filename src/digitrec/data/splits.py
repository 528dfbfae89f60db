"""Deterministic, stratified, seeded splits.

The standard scheme keeps each dataset's official test set apart and carves a validation set out of
the official training set (1/12 of it: MNIST's 55,000 / 5,000). The `80-10-10` scheme pools every
official part and splits it 80/10/10, as Tonape & Satarkar did; its test part is then not the official
test set. In both schemes the test part is never used to choose anything.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.errors import DataError, UsageError

SPLIT_NAMES = ("train", "val", "test", "all")
Scheme = Literal["standard", "80-10-10"]
SCHEMES: tuple[Scheme, ...] = ("standard", "80-10-10")


@dataclass(frozen=True)
class SplitConfig:
    scheme: Scheme = "standard"
    # Share of the official training set held out for validation (standard scheme only).
    # 1/12 gives MNIST's customary 55,000 / 5,000.
    val_fraction: float = 1 / 12
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise UsageError(
                f"unknown split scheme {self.scheme!r}; choose from {', '.join(SCHEMES)}"
            )
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"seed must be from 0 to 2**32 - 1, got {self.seed}")


def stratified_partition(
    labels: np.ndarray, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Split indices 0..N-1 into len(fractions) disjoint parts covering all of them.

    Part sizes are round(N * fraction) (the last part takes the remainder), and every class is spread
    over the parts in proportion: within one example when classes are large (MNIST), within two
    when many classes have only a few examples. Same labels and seed, same parts."""
    n = len(labels)
    if n == 0:
        return [np.zeros(0, dtype=np.int64) for _ in fractions]
    rng = np.random.default_rng(seed)
    # Shuffle, then give each example its relative rank within its class, (rank + 0.5) / count.
    # Sorting by that rank interleaves the classes evenly, so any contiguous run is stratified.
    order = rng.permutation(n)
    shuffled_labels = labels[order]
    by_class = np.argsort(shuffled_labels, kind="stable")
    counts = np.bincount(shuffled_labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_in_class = np.empty(n, dtype=np.float64)
    rank_in_class[by_class] = np.arange(n) - np.repeat(starts, counts)
    relative_rank = (rank_in_class + 0.5) / counts[shuffled_labels]
    interleaved = order[np.lexsort((shuffled_labels, relative_rank))]

    sizes = [round(n * fraction) for fraction in fractions[:-1]]
    sizes.append(n - sum(sizes))
    if min(sizes) < 0:
        raise ValueError(f"fractions {fractions} do not fit {n} examples")
    bounds = np.cumsum([0, *sizes])
    return [np.sort(interleaved[lo:hi]) for lo, hi in itertools.pairwise(bounds)]


def effective_scheme(parts: dict[str, DigitSet], config: SplitConfig) -> Scheme:
    """The scheme actually applied: a single pool (a folder) can only be split 80/10/10."""
    return "80-10-10" if set(parts) == {"all"} else config.scheme


def make_splits(parts: dict[str, DigitSet], config: SplitConfig) -> dict[str, DigitSet]:
    """Turn a dataset's official parts ({"train", "test"}, {"train", "val", "test"}, {"test"} or
    {"all"}) into named splits. A dataset with its own "val" part keeps it (split by writer)."""
    if set(parts) == {"test"}:  # test-only data (noisy MNIST) is for measurement, never training
        if config.scheme != "standard":
            raise UsageError(
                f"{parts['test'].name} is a test set only; it has no {config.scheme} split"
            )
        return dict(parts)
    pooled = _concatenate(list(parts.values()), "all")
    if effective_scheme(parts, config) == "80-10-10":
        train, val, test = stratified_partition(pooled.labels, (0.8, 0.1, 0.1), config.seed)
        return {
            "train": pooled.subset(train, "train"),
            "val": pooled.subset(val, "val"),
            "test": pooled.subset(test, "test"),
            "all": pooled,
        }
    splits = {"all": pooled}
    if "val" in parts:  # the dataset's own validation part (CVL's held-out writers)
        splits["train"], splits["val"] = parts["train"], parts["val"]
    elif "train" in parts:
        train, val = stratified_partition(
            parts["train"].labels, (1 - config.val_fraction, config.val_fraction), config.seed
        )
        splits["train"] = parts["train"].subset(train, "train")
        splits["val"] = parts["train"].subset(val, "val")
    if "test" in parts:
        splits["test"] = parts["test"]
    return splits


def select_split(splits: dict[str, DigitSet], name: str, dataset: str) -> DigitSet:
    if name not in SPLIT_NAMES:
        raise UsageError(f"unknown split {name!r}; choose from {', '.join(SPLIT_NAMES)}")
    if name not in splits:
        raise DataError(f"{dataset} has no {name} split (it has {', '.join(splits)})")
    return splits[name]


def _concatenate(sets: list[DigitSet], split: str) -> DigitSet:
    if len(sets) == 1:
        only = sets[0]
        return DigitSet(only.name, split, only.images, only.labels, only.classes)
    first = sets[0]
    return DigitSet(
        first.name,
        split,
        np.concatenate([s.images for s in sets]),
        np.concatenate([s.labels for s in sets]),
        first.classes,
    )

"""Datasets: acquisition with verified checksums, parsing, splits, and the `DigitSet` they load into.

Usage: `digitrec.data.load("mnist", "train")` gives 55,000 images as a `DigitSet`
((55000, 28, 28) uint8); "val" holds the other 5,000 of the official training set.
"""

from pathlib import Path

from digitrec.data.acquire import FetchReport
from digitrec.data.digitset import DigitSet
from digitrec.data.registry import DATASETS, DatasetEntry, parse_spec
from digitrec.data.splits import SplitConfig, make_splits, select_split


def fetch(spec: str, source: Path | None = None) -> FetchReport | None:
    """Make the dataset's files present and verified in the cache (None for folders, read in place)."""
    entry, variant = parse_spec(spec)
    return entry.fetch(variant, source)


def load_splits(
    spec: str, source: Path | None = None, splits: SplitConfig | None = None
) -> dict[str, DigitSet]:
    """Every split of a dataset: a subset of train, val, test, and all (the official parts pooled)."""
    entry, variant = parse_spec(spec)
    return make_splits(entry.load_parts(variant, source), splits or SplitConfig())


def load(
    spec: str, split: str = "train", source: Path | None = None, splits: SplitConfig | None = None
) -> DigitSet:
    """One split of a dataset."""
    return select_split(load_splits(spec, source, splits), split, spec)


__all__ = [
    "DATASETS",
    "DatasetEntry",
    "DigitSet",
    "FetchReport",
    "SplitConfig",
    "fetch",
    "load",
    "load_splits",
    "parse_spec",
]

"""Datasets: acquisition with verified checksums, parsing, splits, and the `DigitSet` they load into.

Usage: `digitrec.data.load("mnist", "train")` gives 55,000 images as a `DigitSet`
((55000, 28, 28) uint8); "val" holds the other 5,000 of the official training set.

Specs joined by "+" (`mnist+usps`, `mnist+folder:corrections`) are one dataset: each split is
the same split of every part, in 28×28 (parts of another size go through the shared
preprocessing), one after the other; "all" is train, val and test together. Each part is split as
it would be alone. Every part is fetched from the same --source: fetch them one by one first.

A part may be weighted, `PART*N` (`mnist+feedback*40`): its training split counts N times, so a
few hundred digits of one's own are not drowned by 60,000 of MNIST; its validation and test
splits, and "all", hold each digit once.
"""

import os
import re
from pathlib import Path

import numpy as np

from digitrec.data.acquire import FetchReport
from digitrec.data.digitset import DigitSet
from digitrec.data.numbers import fetch_numbers, is_number_dataset
from digitrec.data.registry import DATASETS, DatasetEntry, parse_spec
from digitrec.data.splits import SplitConfig, make_splits, select_split
from digitrec.errors import UsageError


def dataset_parts(spec: str) -> list[str]:
    """'mnist+usps' -> ['mnist', 'usps']; any other spec (an existing folder whose name holds a
    '+' too) -> [spec]."""
    path = spec.removeprefix("folder:")
    if "+" not in spec or Path(path).expanduser().is_dir():
        return [spec]
    parts = [part.strip() for part in spec.split("+")]
    if not all(parts):
        raise UsageError(f"dataset {spec!r}: an empty name around '+'")
    if len({part_weight(part)[0] for part in parts}) < len(parts):
        raise UsageError(f"dataset {spec!r}: a part named twice would count its digits twice")
    return parts


MAX_WEIGHT = 1000


def part_weight(part: str) -> tuple[str, int]:
    """'feedback*40' -> ('feedback', 40); a part without a weight (or an existing path that
    ends so) -> (part, 1)."""
    found = re.fullmatch(r"(.+?)\s*\*\s*(\d+)", part)
    if found is None or Path(part.removeprefix("folder:")).expanduser().exists():
        return part, 1
    times = int(found[2])
    if not 1 <= times <= MAX_WEIGHT:
        raise UsageError(f"dataset {part!r}: a weight is from 1 to {MAX_WEIGHT}, not {times}")
    return found[1], times


def fetch(spec: str, source: Path | None = None) -> FetchReport | None:
    """Make the dataset's files present and verified in the cache (None for folders, read in place).
    A combined spec: every part's files, named `part/file` (None if all parts are folders)."""
    if is_number_dataset(spec):
        return fetch_numbers(spec, source)
    parts = [part_weight(part)[0] for part in dataset_parts(spec)]
    if len(parts) == 1:
        entry, variant = parse_spec(parts[0])
        return entry.fetch(variant, source)
    reports = [(part, fetch(part, source)) for part in parts]
    fetched = [(part, report) for part, report in reports if report is not None]
    if not fetched:
        return None
    combined = FetchReport(spec, Path(os.path.commonpath([r.directory for _, r in fetched])), {})
    for part, report in fetched:
        for name, origin in report.origins.items():
            combined.origins[f"{part}/{name}"] = origin
        combined.checksums.update({f"{part}/{k}": v for k, v in report.checksums.items()})
        combined.warnings.extend(report.warnings)
    return combined


def load_splits(
    spec: str, source: Path | None = None, splits: SplitConfig | None = None
) -> dict[str, DigitSet]:
    """Every split of a dataset: a subset of train, val, test, and all (the official parts pooled).
    A combined spec: the splits every part has, each the parts' own splits in 28×28, joined."""
    if is_number_dataset(spec):
        raise UsageError(
            f"{spec} holds whole numbers, not single digits: use it with `digitrec read`, "
            "`evaluate-reader` or `train-reader`"
        )
    parts = [part_weight(part) for part in dataset_parts(spec)]
    if len(parts) == 1 and parts[0][1] == 1:
        entry, variant = parse_spec(spec)
        return make_splits(entry.load_parts(variant, source), splits or SplitConfig())
    loaded = [load_splits(part, source, splits) for part, _ in parts]
    weights = [times for _, times in parts]
    names = [n for n in ("train", "val", "test") if all(n in each for each in loaded)]
    joined = {name: _joined(spec, name, [each[name] for each in loaded]) for name in names}
    pooled = [joined[name] for name in names]  # every image once, preprocessed once
    if "train" in joined and max(weights) > 1:
        joined["train"] = _joined(spec, "train", [each["train"] for each in loaded], weights)
    joined["all"] = DigitSet(
        spec,
        "all",
        np.concatenate([each.images for each in pooled]),
        np.concatenate([each.labels for each in pooled]),
        pooled[0].classes,
    )
    return joined


def _joined(
    spec: str, split: str, sets: list[DigitSet], weights: list[int] | None = None
) -> DigitSet:
    """The sets one after the other in 28×28, each `weights[i]` times (once without weights)."""
    from digitrec.preprocess import to_mnist_format

    for each in sets[1:]:
        if each.classes != sets[0].classes:
            raise UsageError(
                f"{spec}: {sets[0].name} and {each.name} have different classes; "
                "only datasets of the same classes can be joined"
            )
    times = weights or [1] * len(sets)
    images = [
        np.tile(to_mnist_format(each.images, f"{each.name} {split}"), (n, 1, 1))
        for each, n in zip(sets, times, strict=True)
    ]
    labels = [np.tile(each.labels.astype(np.int64), n) for each, n in zip(sets, times, strict=True)]
    return DigitSet(spec, split, np.concatenate(images), np.concatenate(labels), sets[0].classes)


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
    "dataset_parts",
    "fetch",
    "load",
    "load_splits",
    "parse_spec",
    "part_weight",
]

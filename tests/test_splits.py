"""Splits: deterministic, stratified, disjoint; the test split is never part of train or val."""

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digitrec.data import SplitConfig, load_splits
from digitrec.data.splits import stratified_partition


def test_standard_mnist_split(mnist_dir: Path) -> None:
    splits = load_splits("mnist", mnist_dir)
    assert {name: len(s) for name, s in splits.items()} == {
        "all": 70_000,
        "train": 55_000,
        "val": 5_000,
        "test": 10_000,
    }
    official = load_splits("mnist", mnist_dir, SplitConfig(val_fraction=0.5))["test"]
    np.testing.assert_array_equal(splits["test"].images, official.images)
    # Stratified: each class's share of val is its share of the training set, within one image.
    full = splits["train"].class_counts() + splits["val"].class_counts()
    assert np.all(np.abs(splits["val"].class_counts() - full * 5_000 / 60_000) <= 1)


def test_same_seed_same_split_other_seed_other_split(mnist_dir: Path) -> None:
    first = load_splits("mnist", mnist_dir, SplitConfig(seed=3))["val"]
    second = load_splits("mnist", mnist_dir, SplitConfig(seed=3))["val"]
    other = load_splits("mnist", mnist_dir, SplitConfig(seed=4))["val"]
    np.testing.assert_array_equal(first.images, second.images)
    assert not np.array_equal(first.images, other.images)


def test_80_10_10_scheme(mnist_dir: Path) -> None:
    splits = load_splits("mnist", mnist_dir, SplitConfig(scheme="80-10-10"))
    assert [len(splits[n]) for n in ("train", "val", "test")] == [56_000, 7_000, 7_000]


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 9), min_size=0, max_size=400),
    fractions=st.sampled_from([(0.9, 0.1), (0.8, 0.1, 0.1), (0.5, 0.5), (1 / 12, 11 / 12)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_partition_properties(labels: list[int], fractions: tuple[float, ...], seed: int) -> None:
    array = np.array(labels, dtype=np.int64)
    parts = stratified_partition(array, fractions, seed)
    assert len(parts) == len(fractions)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(array)))  # disjoint and complete
    for part, fraction in zip(parts[:-1], fractions[:-1], strict=True):
        assert len(part) == round(len(array) * fraction)
    counts = np.bincount(array, minlength=10)
    for part in parts:
        share = len(part) / max(len(array), 1)
        got = np.bincount(array[part], minlength=10)
        # Ties in within-class rank (many tiny classes) can push a class just past one example
        # off; hypothesis found [0, 1, 1, 1, 1, 2, 3, 4, 5] at 80/10/10 (1.11). Never two.
        assert np.all(np.abs(got - counts * share) < 2)
    again = stratified_partition(array, fractions, seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))

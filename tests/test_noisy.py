"""Noisy MNIST: deterministic, and each corruption does what its name says."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from digitrec.data import SplitConfig, load
from digitrec.data.noisy import VARIANTS, corrupt, gaussian_blur
from digitrec.errors import DataError, UsageError


@pytest.fixture(scope="module")
def clean(mnist_dir: Path) -> np.ndarray:
    return load("mnist", "test", mnist_dir).images


def test_every_variant_is_deterministic_and_changes_the_images(
    mnist_dir: Path, clean: np.ndarray
) -> None:
    for variant in VARIANTS:
        first = load(f"noisy-mnist:{variant}", "test", mnist_dir)
        second = load(f"noisy-mnist:{variant}", "test", mnist_dir)
        np.testing.assert_array_equal(first.images, second.images)
        assert first.images.shape == clean.shape and first.images.dtype == np.uint8
        assert not np.array_equal(first.images, clean)


def test_same_images_on_every_machine(mnist_dir: Path) -> None:
    """Pinned: a change here changes every noise-study number, so it must be deliberate."""
    images = load("noisy-mnist:gaussian-medium", "test", mnist_dir).images
    assert hashlib.sha256(images.tobytes()).hexdigest() == (
        "08e66fdd6bb8ef5f8d0eda034444b9eb6da62b58e1475728d0aa590f3bf71346"
    )


def test_levels_increase_the_damage(mnist_dir: Path, clean: np.ndarray) -> None:
    for kind in ("gaussian", "salt-pepper", "blur"):
        errors = [
            np.abs(
                load(f"noisy-mnist:{kind}-{level}", "test", mnist_dir).images.astype(int) - clean
            ).mean()
            for level in ("low", "medium", "high")
        ]
        assert errors[0] < errors[1] < errors[2], (kind, errors)


def test_salt_pepper_hits_the_stated_fraction(clean: np.ndarray) -> None:
    sample = clean[:2000]
    noisy = corrupt(sample, "salt-pepper", 0.15, seed=1)
    # Half the hit pixels turn white, half black: measure each where it shows.
    turned_white = (noisy[sample != 255] == 255).mean()
    turned_black = (noisy[sample != 0] == 0).mean()
    assert abs(turned_white - 0.075) < 0.005
    assert abs(turned_black - 0.075) < 0.005


def test_blur_matches_a_direct_convolution() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 9, 9), dtype=np.uint8)
    blurred = gaussian_blur(images, 1.0)
    radius = 3
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * offsets**2)
    kernel /= kernel.sum()
    kernel2d = np.outer(kernel, kernel)
    padded = np.pad(images.astype(float), ((0, 0), (radius, radius), (radius, radius)))
    y, x = 4, 2
    expected = (padded[:, y : y + 7, x : x + 7] * kernel2d).sum(axis=(1, 2))
    np.testing.assert_allclose(blurred[:, y, x], np.rint(expected), atol=1)


def test_unknown_variant() -> None:
    with pytest.raises(UsageError, match="choose from gaussian-low"):
        load("noisy-mnist:gaussian-extreme", "test")


def test_noisy_mnist_is_never_split_for_training(mnist_dir: Path) -> None:
    with pytest.raises(DataError, match="has no train split"):
        load("noisy-mnist:blur-low", "train", mnist_dir)
    with pytest.raises(UsageError, match="is a test set only"):
        load("noisy-mnist:blur-low", "train", mnist_dir, SplitConfig(scheme="80-10-10"))

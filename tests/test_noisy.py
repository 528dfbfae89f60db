"""Noisy MNIST: deterministic, and each corruption does what its name says."""

from pathlib import Path

import numpy as np
import pytest

from digitrec.data import load
from digitrec.data.noisy import VARIANTS, corrupt, gaussian_blur
from digitrec.errors import UsageError


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
    noisy = corrupt(clean[:2000], "salt-pepper", 0.15, seed=1)
    forced = (noisy == 0) | (noisy == 255)
    # Of the pixels the noise touched, half were set black and half white; MNIST is mostly 0.
    changed_to_white = ((noisy == 255) & (clean[:2000] != 255)).mean()
    assert abs(changed_to_white - 0.075) < 0.01
    assert forced.mean() > 0.8


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


def test_noisy_mnist_has_only_a_test_split(mnist_dir: Path) -> None:
    from digitrec.errors import DataError

    with pytest.raises(DataError, match="has no train split"):
        load("noisy-mnist:blur-low", "train", mnist_dir)

"""Noisy MNIST: deterministic corrupted copies of the MNIST test split, for the noise studies.

A variant is `KIND-LEVEL`, e.g. `gaussian-medium`. Each variant has its own fixed seed, so every run
on every machine gets the same images; `digitrec data info noisy-mnist:VARIANT` prints their SHA-256.
"""

import zlib

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.errors import UsageError

# Strength per named level. gaussian: noise std in units of full intensity (255);
# salt-pepper: fraction of pixels forced to black or white; blur: Gaussian std in pixels.
NOISE_LEVELS: dict[str, dict[str, float]] = {
    "gaussian": {"low": 0.1, "medium": 0.25, "high": 0.5},
    "salt-pepper": {"low": 0.05, "medium": 0.15, "high": 0.3},
    "blur": {"low": 0.5, "medium": 1.0, "high": 1.5},
}
VARIANTS = tuple(f"{kind}-{level}" for kind, levels in NOISE_LEVELS.items() for level in levels)


def parse_variant(variant: str) -> tuple[str, float]:
    """'gaussian-medium' -> ('gaussian', 0.25)."""
    kind, _, level = variant.rpartition("-")
    if kind not in NOISE_LEVELS or level not in NOISE_LEVELS[kind]:
        raise UsageError(
            f"unknown noisy-mnist variant {variant!r}; choose from {', '.join(VARIANTS)}"
        )
    return kind, NOISE_LEVELS[kind][level]


def corrupt(images: np.ndarray, kind: str, strength: float, seed: int) -> np.ndarray:
    """Corrupt a batch. images: (N, H, W) uint8 -> (N, H, W) uint8, same seed same result."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        noisy = images.astype(np.float32) + rng.normal(0.0, strength * 255.0, images.shape)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if kind == "salt-pepper":
        draw = rng.random(images.shape)
        out = images.copy()
        out[draw < strength / 2] = 0
        out[(draw >= strength / 2) & (draw < strength)] = 255
        return out
    if kind == "blur":
        return gaussian_blur(images, strength)
    raise UsageError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_LEVELS)}")


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of every image at once, zero padding (MNIST's background).
    (N, H, W) uint8 -> (N, H, W) uint8."""
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    x = images.astype(np.float32)
    for axis in (1, 2):
        padded = np.pad(x, [(0, 0) if a != axis else (radius, radius) for a in range(3)])
        length = x.shape[axis]
        x = sum(
            (
                weight * np.take(padded, np.arange(i, i + length), axis=axis)
                for i, weight in enumerate(kernel)
            ),
            start=np.zeros_like(x),
        )
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def make_noisy(test: DigitSet, variant: str) -> DigitSet:
    kind, strength = parse_variant(variant)
    seed = zlib.crc32(variant.encode())  # fixed per variant, independent of Python's hash salt
    images = corrupt(test.images, kind, strength, seed)
    return DigitSet(f"noisy-mnist:{variant}", "test", images, test.labels, test.classes)

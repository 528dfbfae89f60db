"""`DigitSet`: the one in-memory shape every dataset loads into."""

from dataclasses import dataclass

import numpy as np

DIGIT_CLASSES = tuple("0123456789")


@dataclass(frozen=True)
class DigitSet:
    """Images and labels of one split of one dataset.

    images: (N, H, W) uint8, ink bright (255) on a dark (0) background, the MNIST convention; kept
            uint8 so MNIST stays 47 MB in memory; convert to float per batch.
    labels: (N,) int64 class indices into `classes`.
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...] = DIGIT_CLASSES

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise ValueError(
                f"images must be (N, H, W) uint8, got {self.images.dtype} {self.images.shape}"
            )
        if self.labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers, got {self.labels.dtype}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{len(self.images)} images but labels of shape {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    def class_counts(self) -> np.ndarray:
        """(len(classes),) int64: how many examples of each class."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def subset(self, indices: np.ndarray, split: str) -> "DigitSet":
        return DigitSet(self.name, split, self.images[indices], self.labels[indices], self.classes)

    def limited(self, limit: int, seed: int = 0) -> "DigitSet":
        """At most `limit` examples (0 = all), drawn at random with a fixed seed: splits and folders
        can be stored class by class, so "the first N" could be a single class."""
        if not limit or limit >= len(self):
            return self
        chosen = np.sort(np.random.default_rng(seed).permutation(len(self))[:limit])
        return self.subset(chosen, self.split)

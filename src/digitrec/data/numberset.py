"""One split of a dataset of handwritten numbers (`NumberSet`): what `data.numbers` loads and
the corrections store (`data.feedback_sets`) gives."""

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")
MAX_LABEL = 20  # digits: the reader reads lines of 1-20 digits


@dataclass(frozen=True)
class NumberSet:
    """Images of handwritten numbers and their texts: one split of one dataset."""

    name: str
    split: str
    images: list[np.ndarray]  # each (H, W) uint8 gray (colour files decoded to gray)
    texts: list[str]  # the digits written on each
    files: list[str]  # each image's file name within the dataset

    def __len__(self) -> int:
        return len(self.texts)

    def length_counts(self) -> dict[int, int]:
        """How many numbers of each length (digits)."""
        lengths = np.bincount([len(t) for t in self.texts], minlength=1)
        return {n: int(c) for n, c in enumerate(lengths) if c}

"""A PNG grid of sample images, one row per class, to see what a dataset looks like."""

from pathlib import Path

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.errors import UsageError
from digitrec.storage import atomic_write_bytes

CELL_PIXELS = 56  # each digit drawn at 2× MNIST size, with a 2-pixel gutter
GUTTER = 2


def class_grid(digits: DigitSet, per_class: int, seed: int = 0) -> np.ndarray:
    """(rows · cell, cols · cell) uint8 image: up to `per_class` random examples of each class per
    row, dark ink on white like paper."""
    import cv2

    rng = np.random.default_rng(seed)
    cell = CELL_PIXELS + GUTTER
    rows = len(digits.classes)
    grid = np.full((rows * cell + GUTTER, per_class * cell + GUTTER), 255, dtype=np.uint8)
    for label in range(rows):
        members = np.flatnonzero(digits.labels == label)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for column, index in enumerate(np.sort(chosen)):
            tile = cv2.resize(
                digits.images[index], (CELL_PIXELS, CELL_PIXELS), interpolation=cv2.INTER_NEAREST
            )
            top, left = GUTTER + label * cell, GUTTER + column * cell
            grid[top : top + CELL_PIXELS, left : left + CELL_PIXELS] = 255 - tile
    return grid


def save_class_grid(digits: DigitSet, out: Path, *, per_class: int, seed: int = 0) -> None:
    import cv2

    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must end in .png, got {out}")
    ok, encoded = cv2.imencode(".png", class_grid(digits, per_class, seed))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    atomic_write_bytes(out, encoded.tobytes())

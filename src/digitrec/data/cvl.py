"""CVL single digits (ICDAR 2013 HDRC): 14,000 real digits of 127 writers, split by writer.

The archive (`cvl-digits-train-valid.tar.gz`, shipped to the team in `shared/data/cvl/`) holds
`train/` and `valid/`: 28×28 gray PNG, dark ink on light paper, tight crops (the aspect ratio of
the public re-export is not kept), named `<digit>-<writer>-<form>-<index>.png`. Every digit is
brought to MNIST's format by the shared preprocessing (`normalize_digit`, after a 2-pixel paper
margin as for USPS), so CVL joins MNIST and USPS in one training set.

Splits are by writer, never by digit: a writer is test, val or train by a hash of its id
(`writer_split`), about 20% / 10% / 70% of the writers, whatever the archive's own two folders say.
The test writers are held out of every training set and every choice.
"""

import functools
import hashlib
import tarfile
from pathlib import Path

import numpy as np

from digitrec.data.acquire import FetchReport, FileSpec, ensure_files
from digitrec.data.digitset import DigitSet
from digitrec.errors import DataError

ARCHIVE = FileSpec(
    "cvl-digits-train-valid.tar.gz",
    "71f0c0fd7c8ca53400df6e38c8a520615f76a9b8a1f6ae10bc2901bc3cdb9502",
)
COUNT = 14_000
MARGIN = 2  # paper pixels added around each tight crop before normalizing


def fetch(source: Path | None = None) -> FetchReport:
    return ensure_files(
        "cvl",
        (ARCHIVE,),
        source_dir=source,
        hint=f" Pass --source DIR holding {ARCHIVE.name} (the team's copy: shared/data/cvl/).",
    )


def writer_split(writer: str) -> str:
    """'test' for about 2 writers in 10, 'val' for 1, else 'train': a fixed function of the id."""
    bucket = int(hashlib.sha256(f"cvl-writer-{writer}".encode()).hexdigest(), 16) % 10
    return "test" if bucket < 2 else "val" if bucket == 2 else "train"


def load_parts(source: Path | None = None) -> dict[str, DigitSet]:
    """{"train", "val", "test"}, each split by writer, in MNIST's 28×28 format."""
    from digitrec.images import decode_image
    from digitrec.preprocess import normalize_digit

    by_split: dict[str, tuple[list[np.ndarray], list[int]]] = {}
    found = 0
    for split in ("train", "val", "test"):
        images, labels = by_split.setdefault(split, ([], []))
        for name, data, label in raw_digits(split, source):
            gray = decode_image(data, name)
            padded = np.pad(gray, MARGIN, constant_values=int(np.percentile(gray, 90)))
            images.append(normalize_digit(padded, name, ink="dark"))
            labels.append(label)
        found += len(labels)
    if found != COUNT:
        raise DataError(f"{ARCHIVE.name}: expected {COUNT} digits, found {found}")
    return {
        split: DigitSet("cvl", split, np.stack(images), np.asarray(labels, np.int64))
        for split, (images, labels) in by_split.items()
    }


def raw_digits(split: str, source: Path | None = None) -> list[tuple[str, bytes, int]]:
    """(file name, PNG bytes, label) of every digit of this split's writers, as the archive
    ships them (dark ink on light paper), sorted by name."""
    files = _archive_files(fetch(source).path(ARCHIVE.name))
    out = []
    for name in sorted(files):
        label, writer = label_and_writer(name)
        if writer_split(writer) == split:
            out.append((name, files[name], label))
    return out


@functools.lru_cache(maxsize=1)
def _archive_files(path: Path) -> dict[str, bytes]:
    """Every PNG in the (verified) archive, by member name: read once per process."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:  # in archive order: a gzip stream cannot seek back cheaply
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None and member.name.endswith(".png"):
                    files[member.name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{path}: corrupt archive ({error})") from error
    return files


def label_and_writer(member: str) -> tuple[int, str]:
    """'train/3-0042-01-07.png' -> (3, '0042')."""
    parts = Path(member).name.split("-")
    if len(parts) < 2 or not parts[0].isdigit() or len(parts[0]) != 1:
        raise DataError(f"{member}: not named <digit>-<writer>-…")
    return int(parts[0]), parts[1]

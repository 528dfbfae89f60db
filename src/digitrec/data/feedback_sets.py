"""The corrections store read as datasets: `feedback:PATH`, its single digits through
`normalize_digit` (`feedback_parts`), and `feedback-numbers:PATH`, its numbers as labelled line
images (`number_feedback_parts`). In both the newest HOLDOUT_SHARE of the rows by time are the
test part, so they measure what training on the older ones gained. Also the digits exported as a
`0/`…`9/` folder dataset (`export_feedback`).
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.data.feedback import HOLDOUT_SHARE, FeedbackStore
from digitrec.data.numberset import NumberSet
from digitrec.errors import DataError, UsageError
from digitrec.storage import atomic_write_bytes


def export_feedback(db_path: Path, out: Path) -> dict[int, int]:
    """Write every stored correction as OUT/LABEL/feedback-ID.png; returns images per label.

    Rerunning overwrites the same files (names come from row ids), so it is safe to repeat."""
    if not db_path.is_file():
        raise DataError(f"{db_path}: no feedback database (start `digitrec serve` and submit some)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")
    counts = dict.fromkeys(range(10), 0)
    try:
        for row_id, label, png in FeedbackStore(db_path, read_only=True).rows():
            if label not in counts or not isinstance(row_id, int) or not isinstance(png, bytes):
                raise DataError(f"{db_path}: row {row_id!r} is not a correction (label {label!r})")
            atomic_write_bytes(out / str(label) / f"feedback-{row_id:06d}.png", png)
            counts[label] += 1
    except sqlite3.DatabaseError as error:
        raise DataError(f"{db_path}: not a readable feedback database ({error})") from None
    return counts


def held_out_from(n: int) -> int:
    """The first index of the newest HOLDOUT_SHARE of n rows (at least one, and one left)."""
    return n - min(max(1, round(n * HOLDOUT_SHARE)), n - 1) if n > 1 else n


@dataclass(frozen=True)
class StoredDigits:
    """Every row of a store as 28×28 digits, in the order they were stored: the images, labels,
    and for each whether it corrected the model (its label is not what the model read)."""

    images: np.ndarray
    labels: np.ndarray
    corrected: np.ndarray  # bool
    ids: np.ndarray

    def held_out_from(self) -> int:
        return held_out_from(len(self.labels))


def stored_digits(path: Path) -> StoredDigits:
    """The store's rows through `normalize_digit`, as every other user image; a row whose image
    holds no digit (it could not be stored so) is an error naming it."""
    from digitrec.images import decode_image
    from digitrec.preprocess import normalize_digit

    if not path.is_file():
        raise DataError(f"{path}: no feedback database (start `digitrec serve` and submit some)")
    images, labels, corrected, ids = [], [], [], []
    try:
        for row_id, _created, label, predicted, png in FeedbackStore(
            path, read_only=True
        ).timeline():
            name = f"{path.name} row {row_id}"
            images.append(normalize_digit(decode_image(bytes(png), name), name))
            labels.append(label)
            corrected.append(predicted != label)
            ids.append(row_id)
    except sqlite3.DatabaseError as error:
        raise DataError(f"{path}: not a readable feedback database ({error})") from None
    if not images:
        raise DataError(f"{path}: the store holds no corrections yet")
    return StoredDigits(
        np.stack(images), np.asarray(labels, np.int64), np.asarray(corrected), np.asarray(ids)
    )


def feedback_parts(path: Path) -> dict[str, DigitSet]:
    """The dataset `feedback:PATH`: "train" the older rows, "test" the newest HOLDOUT_SHARE (by
    the time they were stored); the split schemes carve validation out of "train"."""
    stored = stored_digits(path)
    cut = stored.held_out_from()
    name = f"feedback:{path}"
    parts = {"train": DigitSet(name, "train", stored.images[:cut], stored.labels[:cut])}
    if cut < len(stored.labels):
        parts["test"] = DigitSet(name, "test", stored.images[cut:], stored.labels[cut:])
    return parts


@dataclass(frozen=True)
class StoredNumbers:
    """Every number row of a store, in the order stored: the line images (gray, any size), the
    texts they really are, and the row ids."""

    images: list[np.ndarray]
    texts: list[str]
    ids: list[int]

    def held_out_from(self) -> int:
        return held_out_from(len(self.texts))


def stored_numbers(path: Path) -> StoredNumbers:
    """The store's number rows, decoded; none is an error."""
    from digitrec.images import decode_image

    if not path.is_file():
        raise DataError(f"{path}: no feedback database (start `digitrec serve` and submit some)")
    images, texts, ids = [], [], []
    try:
        for row_id, _created, text, _read, png in FeedbackStore(path, read_only=True).timeline(
            "numbers"
        ):
            images.append(decode_image(bytes(png), f"{path.name} number {row_id}"))
            texts.append(str(text))
            ids.append(int(row_id))
    except sqlite3.DatabaseError as error:
        raise DataError(f"{path}: not a readable feedback database ({error})") from None
    if not images:
        raise DataError(f"{path}: the store holds no number corrections yet")
    return StoredNumbers(images, texts, ids)


def number_feedback_parts(path: Path) -> dict[str, NumberSet]:
    """The number dataset `feedback-numbers:PATH`: "test" the newest HOLDOUT_SHARE of the rows
    by time, "val" every 12th of the older ones (at least one when there are three), "train" the
    rest; "all" every row."""
    stored = stored_numbers(path)
    cut = stored.held_out_from()
    name = f"feedback-numbers:{path}"
    files = [f"number-{row_id:06d}" for row_id in stored.ids]
    older = range(cut)
    val = set(older[-1::-12]) if cut >= 3 else set()  # newest of the older rows first
    chosen = {
        "train": [i for i in older if i not in val],
        "val": sorted(val),
        "test": list(range(cut, len(stored.ids))),
        "all": list(range(len(stored.ids))),
    }
    return {
        split: NumberSet(
            name,
            split,
            [stored.images[i] for i in picked],
            [stored.texts[i] for i in picked],
            [files[i] for i in picked],
        )
        for split, picked in chosen.items()
        if picked
    }

"""User corrections: stored in SQLite (WAL mode, one row per correction with the image, what the
model predicted and when), reviewed (listed, relabelled, deleted), exported as a `0/`…`9/`
folder dataset, and read as the dataset `feedback:PATH` (`feedback_parts`: the newest
HOLDOUT_SHARE of the rows by time are its test part, so they measure what training on the older
ones gained). `digitrec feedback train` trains on a snapshot of the store (`snapshot`).

The same image with the same label is one row (a second submission answers with the first); a
label equal to the model's prediction is a confirmation, kept and counted apart from the
corrections. Older stores gain the image digests (and lose repeated rows) when first opened.
"""

import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.data.digitset import DigitSet
from digitrec.errors import DataError, DigitrecError, UsageError
from digitrec.storage import atomic_write_bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,            -- UTC, ISO 8601
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER,                -- NULL when the model saw no confident digit
    confidence REAL NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,             -- the uploaded file's name, or image[0] for base64
    image BLOB NOT NULL,              -- the image as received, decoded to gray, as PNG
    digest TEXT                       -- SHA-256 of image: one row per image and label
)
"""
# Added to stores made before the digests (ALTER TABLE), and the index that makes an image and a
# label one row.
DIGEST_COLUMN = "ALTER TABLE feedback ADD COLUMN digest TEXT"
ONE_ROW_PER_IMAGE_AND_LABEL = (
    "CREATE UNIQUE INDEX IF NOT EXISTS feedback_image_label ON feedback (digest, label)"
)
MAX_PAGE = 100  # rows a review page (or a delete) may name at once
HOLDOUT_SHARE = 0.2  # the newest rows, by time, held out of training on the store
KINDS = ("correction", "confirmation")


def default_store_path() -> Path:
    """Where `digitrec serve` keeps the corrections unless told: DIGITREC_SERVE_FEEDBACK_DB, else
    $DIGITREC_HOME/feedback.db (the dataset `feedback` and the server read the same file)."""
    from digitrec.home import digitrec_home

    configured = os.environ.get("DIGITREC_SERVE_FEEDBACK_DB")
    return Path(configured).expanduser() if configured else digitrec_home() / "feedback.db"


class FeedbackFullError(DigitrecError):
    """The store holds as many corrections as it may."""


@dataclass(frozen=True)
class Feedback:
    id: int
    created: str
    label: int
    predicted: int | None
    confidence: float
    model: str = ""
    source: str = ""
    duplicate: bool = False  # the image and label were stored already: this is that row

    @property
    def error(self) -> None:
        """What `output.print_results` asks of every result: a stored row never failed."""
        return None

    @property
    def kind(self) -> str:
        """ "confirmation" when the label is what the model predicted, else "correction"."""
        return "confirmation" if self.label == self.predicted else "correction"

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["confidence"] = round(self.confidence, 6)
        return record | {"kind": self.kind}


@dataclass(frozen=True)
class FeedbackPage:
    """One page of a review: its rows (newest first), how many match, and the store's counts."""

    items: list[Feedback]
    total: int  # rows matching the filters
    corrections: int  # in the whole store
    confirmations: int


COLUMNS = "id, created, label, predicted, confidence, model, source"


@contextmanager
def _writing(path: Path, timeout: float = 10) -> Iterator[sqlite3.Connection]:
    """One write transaction on the store, taken with the write lock at its start (BEGIN
    IMMEDIATE, autocommit mode: the transaction is ours), so that a check and the write it
    allows cannot interleave with another process's; committed at the end, rolled back on any
    error (a failed COMMIT, a full disk, may have rolled back already)."""
    with closing(sqlite3.connect(str(path), timeout=timeout, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


class FeedbackStore:
    """The corrections database. Read-only stores (export) never create or change the file.

    At most `max_rows` corrections and `max_bytes` of their images: the budget is checked and
    the row inserted in one `BEGIN IMMEDIATE` transaction, so writers in several server processes
    cannot both pass the check and overshoot it."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 100_000,
        max_bytes: int = 2 * 1024**3,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.read_only = read_only
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(SCHEMA)
            _add_digests(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per call: sqlite3 connections are not shared across the
        # server's threads, and WAL lets readers (an export) run beside a writer.
        target = f"file:{self.path}?mode=ro" if self.read_only else str(self.path)
        with closing(sqlite3.connect(target, timeout=10, uri=self.read_only)) as db, db:
            yield db

    def add(
        self,
        label: int,
        predicted: int | None,
        confidence: float,
        model: str,
        source: str,
        png: bytes,
    ) -> Feedback:
        created = datetime.now(UTC).isoformat(timespec="milliseconds")
        digest = hashlib.sha256(png).hexdigest()
        with _writing(self.path) as db:  # the budget is read under the write lock
            known = db.execute(
                f"SELECT {COLUMNS} FROM feedback WHERE digest = ? AND label = ?", (digest, label)
            ).fetchone()
            if known is not None:  # the same image and label again: that row, once
                return _feedback(known, duplicate=True)
            count, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(image)), 0) FROM feedback"
            ).fetchone()
            if count >= self.max_rows:
                raise FeedbackFullError(
                    f"the feedback store is full ({self.max_rows} corrections): export and "
                    "clear it, or raise DIGITREC_SERVE_FEEDBACK_MAX_ROWS"
                )
            if size + len(png) > self.max_bytes:
                raise FeedbackFullError(
                    f"the feedback store is full ({size:,} of {self.max_bytes:,} bytes of "
                    "images): export and clear it, or raise DIGITREC_SERVE_FEEDBACK_MAX_BYTES"
                )
            cursor = db.execute(
                "INSERT INTO feedback (created, label, predicted, confidence, model, source,"
                " image, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (created, label, predicted, confidence, model, source, png, digest),
            )
        row_id = cursor.lastrowid
        assert row_id is not None
        return Feedback(row_id, created, label, predicted, confidence, model, source)

    def page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        label: int | None = None,
        model: str | None = None,
        kind: str | None = None,
    ) -> FeedbackPage:
        """Rows newest first, `limit` (at most MAX_PAGE) from `offset`, filtered by label, model
        and kind (KINDS)."""
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise UsageError(f"a page holds 1 to {MAX_PAGE} rows from an offset of 0 or more")
        if kind is not None and kind not in KINDS:
            raise UsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        where, values = ["1 = 1"], list[Any]()
        if label is not None:
            where.append("label = ?")
            values.append(label)
        if model is not None:  # "default" matches "default@v3" too; "default@v3" only itself
            where.append("(model = ? OR model LIKE ? ESCAPE '\\')")
            escaped = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            values += [model, f"{escaped}@%"]
        if kind is not None:
            where.append(
                "predicted IS label" if kind == "confirmation" else "predicted IS NOT label"
            )
        condition = " AND ".join(where)
        with self._connect() as db:
            db.execute("BEGIN")  # one snapshot: the rows and the counts agree
            rows = db.execute(
                f"SELECT {COLUMNS} FROM feedback WHERE {condition} ORDER BY id DESC"
                " LIMIT ? OFFSET ?",
                (*values, limit, offset),
            ).fetchall()
            (total,) = db.execute(
                f"SELECT COUNT(*) FROM feedback WHERE {condition}", values
            ).fetchone()
            confirmations, count = db.execute(
                "SELECT COALESCE(SUM(predicted IS label), 0), COUNT(*) FROM feedback"
            ).fetchone()
        items = [_feedback(row) for row in rows]
        return FeedbackPage(items, total, count - confirmations, confirmations)

    def image(self, row_id: int) -> bytes | None:
        """The stored PNG of a row; None when there is no such row."""
        with self._connect() as db:
            found = db.execute("SELECT image FROM feedback WHERE id = ?", (row_id,)).fetchone()
        return None if found is None else bytes(found[0])

    def relabel(self, row_id: int, label: int) -> Feedback | None:
        """Give a row another label; None when there is no such row. When the same image is
        stored with that label already, the two are one row: the other is kept, this one goes."""
        with _writing(self.path) as db:
            found = db.execute("SELECT digest FROM feedback WHERE id = ?", (row_id,)).fetchone()
            if found is None:
                return None
            other = db.execute(
                "SELECT id FROM feedback WHERE digest = ? AND label = ? AND id != ?",
                (found[0], label, row_id),
            ).fetchone()
            if other is not None:
                db.execute("DELETE FROM feedback WHERE id = ?", (row_id,))
                row_id = other[0]
            else:
                db.execute("UPDATE feedback SET label = ? WHERE id = ?", (label, row_id))
            row = db.execute(f"SELECT {COLUMNS} FROM feedback WHERE id = ?", (row_id,)).fetchone()
        return _feedback(row)

    def delete(self, row_ids: Sequence[int]) -> int:
        """Delete these rows (at most MAX_PAGE at once); how many there were."""
        if len(row_ids) > MAX_PAGE:
            raise UsageError(f"at most {MAX_PAGE} rows at once, got {len(row_ids)}")
        with self._connect() as db:
            marks = ", ".join("?" * len(row_ids))
            cursor = db.execute(f"DELETE FROM feedback WHERE id IN ({marks})", list(row_ids))
        return cursor.rowcount

    def rows(self) -> Iterator[tuple[int, int, bytes]]:
        """(id, label, png) of every correction, oldest first."""
        with self._connect() as db:
            yield from db.execute("SELECT id, label, image FROM feedback ORDER BY id")

    def timeline(self) -> Iterator[tuple[int, str, int, int | None, bytes]]:
        """(id, created, label, predicted, png) of every row in the order they were stored."""
        with self._connect() as db:
            yield from db.execute(
                "SELECT id, created, label, predicted, image FROM feedback ORDER BY created, id"
            )

    def count(self) -> int:
        with self._connect() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM feedback").fetchone()
        return int(count)

    def snapshot(self, dest: Path) -> int:
        """Copy the whole store, as it is now, to `dest` (atomically: a consistent copy taken
        beside running writers, by SQLite's backup); returns the rows copied."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        partial.unlink(missing_ok=True)
        with self._connect() as db, closing(sqlite3.connect(str(partial))) as copy:
            db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            (count,) = copy.execute("SELECT COUNT(*) FROM feedback").fetchone()
        partial.replace(dest)
        return int(count)


def _feedback(row: Sequence[Any], duplicate: bool = False) -> Feedback:
    """A Feedback from a row of COLUMNS."""
    row_id, created, label, predicted, confidence, model, source = row
    return Feedback(row_id, created, label, predicted, confidence, model, source, duplicate)


def _add_digests(path: Path) -> None:
    """A store made before the digests: the column added, each image's digest filled in (one
    image in memory at a time), and the repeats of an image and label (the older rows kept)
    deleted, so the index can hold. In one write transaction: several server workers may open
    the store at once, and only the first finds work to do."""
    with _writing(path, timeout=30) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
        if "digest" not in columns:
            db.execute(DIGEST_COLUMN)
        missing = [row[0] for row in db.execute("SELECT id FROM feedback WHERE digest IS NULL")]
        for row_id in missing:
            (image,) = db.execute("SELECT image FROM feedback WHERE id = ?", (row_id,)).fetchone()
            digest = hashlib.sha256(bytes(image)).hexdigest()
            db.execute("UPDATE feedback SET digest = ? WHERE id = ?", (digest, row_id))
        if missing:
            db.execute(
                "DELETE FROM feedback WHERE id NOT IN"
                " (SELECT MIN(id) FROM feedback GROUP BY digest, label)"
            )
        db.execute(ONE_ROW_PER_IMAGE_AND_LABEL)


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


@dataclass(frozen=True)
class StoredDigits:
    """Every row of a store as 28×28 digits, in the order they were stored: the images, labels,
    and for each whether it corrected the model (its label is not what the model read)."""

    images: np.ndarray
    labels: np.ndarray
    corrected: np.ndarray  # bool
    ids: np.ndarray

    def held_out_from(self) -> int:
        """The first index of the newest HOLDOUT_SHARE (at least one row, and one row left)."""
        n = len(self.labels)
        return n - min(max(1, round(n * HOLDOUT_SHARE)), n - 1) if n > 1 else n


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

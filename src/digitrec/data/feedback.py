"""User corrections, stored in SQLite (WAL mode): one row per correction with the image, what
the model read, which model, from where and when. Two tables in one file: `feedback`, single
digits (the label 0-9), and `numbers`, whole numbers read from photos (the line image, the text
read, the corrected text and the boxes of the read digits in the line image). Rows are reviewed
(listed, relabelled, deleted) and snapshotted here; `feedback_sets` reads them as datasets.

The same image with the same label is one row (a second submission answers with the first); a
label equal to what the model read is a confirmation, kept and counted apart from the
corrections. Older stores gain the image digests (and lose repeated rows), and the numbers
table, when first opened.
"""

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digitrec.data.numberset import MAX_LABEL
from digitrec.errors import DigitrecError, UsageError

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
NUMBERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS numbers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,            -- UTC, ISO 8601
    text TEXT NOT NULL                -- the number as it is written: 1 to {MAX_LABEL} digits
        CHECK (length(text) BETWEEN 1 AND {MAX_LABEL} AND text NOT GLOB '*[^0-9]*'),
    read TEXT NOT NULL,               -- what the reader read ('' when it found no digits)
    confidence REAL NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    boxes TEXT NOT NULL,              -- JSON [[x, y, w, h], ...]: each read digit in `image`
    image BLOB NOT NULL,              -- the line image: the band of the page holding the number
    digest TEXT NOT NULL,             -- SHA-256 of image
    UNIQUE (digest, text)             -- one row per image and text
)
""".replace("{MAX_LABEL}", str(MAX_LABEL))
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
class NumberFeedback:
    """A stored correction of a whole number: the text it really is, what the reader read."""

    id: int
    created: str
    text: str
    read: str
    confidence: float
    model: str = ""
    source: str = ""
    boxes: list[list[int]] = field(default_factory=list)  # [x, y, w, h] of each read digit
    duplicate: bool = False

    @property
    def error(self) -> None:
        return None

    @property
    def kind(self) -> str:
        return "confirmation" if self.text == self.read else "correction"

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["confidence"] = round(self.confidence, 6)
        return record | {"kind": self.kind}


@dataclass(frozen=True)
class FeedbackPage:
    """One page of a review: its rows (newest first), how many match, and the table's counts."""

    items: list[Any]  # Feedback or NumberFeedback
    total: int  # rows matching the filters
    corrections: int  # in the whole table
    confirmations: int


@dataclass(frozen=True)
class _Table:
    """What the store's code needs to know of a table: its name, columns, label column and
    the column holding what the model read."""

    name: str
    columns: str
    label: str
    read: str

    def row(self, values: Sequence[Any], duplicate: bool = False) -> Any:
        if self.name == "feedback":
            row_id, created, label, predicted, confidence, model, source = values
            return Feedback(row_id, created, label, predicted, confidence, model, source, duplicate)
        row_id, created, text, read, confidence, model, source, boxes = values
        return NumberFeedback(
            row_id, created, text, read, confidence, model, source, json.loads(boxes), duplicate
        )


DIGITS = _Table("feedback", "id, created, label, predicted, confidence, model, source", "label",
                "predicted")  # fmt: skip
NUMBERS = _Table(
    "numbers", "id, created, text, read, confidence, model, source, boxes", "text", "read"
)
TASKS = {"digits": DIGITS, "numbers": NUMBERS}


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
    """The corrections database. Read-only stores (export, training) never create or change the
    file; an older file without the numbers table reads as one without number corrections.

    At most `max_rows` corrections and `max_bytes` of their images, digits and numbers together:
    the budget is checked and the row inserted in one `BEGIN IMMEDIATE` transaction, so writers
    in several server processes cannot both pass the check and overshoot it. Methods that take
    `task` ("digits", the default, or "numbers") work on that table."""

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
                db.execute(NUMBERS_SCHEMA)
            _add_digests(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per call: sqlite3 connections are not shared across the
        # server's threads, and WAL lets readers (an export) run beside a writer.
        target = f"file:{self.path}?mode=ro" if self.read_only else str(self.path)
        with closing(sqlite3.connect(target, timeout=10, uri=self.read_only)) as db, db:
            yield db

    def _check_budget(self, db: sqlite3.Connection, size: int) -> None:
        """Raise FeedbackFullError when one more row of `size` bytes would not fit."""
        count, stored = 0, 0
        for table in TASKS.values():
            if _exists(db, table):
                rows, used = db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(LENGTH(image)), 0) FROM {table.name}"
                ).fetchone()
                count, stored = count + rows, stored + used
        if count >= self.max_rows:
            raise FeedbackFullError(
                f"the feedback store is full ({self.max_rows} corrections): export and "
                "clear it, or raise DIGITREC_SERVE_FEEDBACK_MAX_ROWS"
            )
        if stored + size > self.max_bytes:
            raise FeedbackFullError(
                f"the feedback store is full ({stored:,} of {self.max_bytes:,} bytes of "
                "images): export and clear it, or raise DIGITREC_SERVE_FEEDBACK_MAX_BYTES"
            )

    def add(
        self,
        label: int,
        predicted: int | None,
        confidence: float,
        model: str,
        source: str,
        png: bytes,
    ) -> Feedback:
        """Store a digit's correction (or confirmation)."""
        created = datetime.now(UTC).isoformat(timespec="milliseconds")
        digest = hashlib.sha256(png).hexdigest()
        with _writing(self.path) as db:  # the budget is read under the write lock
            known = db.execute(
                f"SELECT {DIGITS.columns} FROM feedback WHERE digest = ? AND label = ?",
                (digest, label),
            ).fetchone()
            if known is not None:  # the same image and label again: that row, once
                return DIGITS.row(known, duplicate=True)  # type: ignore[no-any-return]
            self._check_budget(db, len(png))
            cursor = db.execute(
                "INSERT INTO feedback (created, label, predicted, confidence, model, source,"
                " image, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (created, label, predicted, confidence, model, source, png, digest),
            )
        row_id = cursor.lastrowid
        assert row_id is not None
        return Feedback(row_id, created, label, predicted, confidence, model, source)

    def add_number(
        self,
        text: str,
        read: str,
        confidence: float,
        model: str,
        source: str,
        png: bytes,
        boxes: Sequence[Sequence[int]],
    ) -> NumberFeedback:
        """Store a number's correction: `png` the line image, `boxes` the read digits in it."""
        check_number(text)
        created = datetime.now(UTC).isoformat(timespec="milliseconds")
        digest = hashlib.sha256(png).hexdigest()
        kept = [[int(v) for v in box] for box in boxes]
        with _writing(self.path) as db:
            known = db.execute(
                f"SELECT {NUMBERS.columns} FROM numbers WHERE digest = ? AND text = ?",
                (digest, text),
            ).fetchone()
            if known is not None:
                return NUMBERS.row(known, duplicate=True)  # type: ignore[no-any-return]
            self._check_budget(db, len(png))
            cursor = db.execute(
                "INSERT INTO numbers (created, text, read, confidence, model, source, boxes,"
                " image, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (created, text, read, confidence, model, source, json.dumps(kept), png, digest),
            )
        row_id = cursor.lastrowid
        assert row_id is not None
        return NumberFeedback(row_id, created, text, read, confidence, model, source, kept)

    def page(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        label: int | None = None,
        model: str | None = None,
        kind: str | None = None,
        task: str = "digits",
    ) -> FeedbackPage:
        """Rows newest first, `limit` (at most MAX_PAGE) from `offset`, filtered by label (digits
        only), model and kind (KINDS)."""
        table = _table(task)
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise UsageError(f"a page holds 1 to {MAX_PAGE} rows from an offset of 0 or more")
        if kind is not None and kind not in KINDS:
            raise UsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        where, values = ["1 = 1"], list[Any]()
        if label is not None:
            where.append(f"{table.label} = ?")
            values.append(label)
        if model is not None:  # "default" matches "default@v3" too; "default@v3" only itself
            where.append("(model = ? OR model LIKE ? ESCAPE '\\')")
            escaped = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            values += [model, f"{escaped}@%"]
        if kind is not None:
            same = kind == "confirmation"
            where.append(f"{table.read} IS {'' if same else 'NOT '}{table.label}")
        condition = " AND ".join(where)
        with self._connect() as db:
            if not _exists(db, table):
                return FeedbackPage([], 0, 0, 0)
            db.execute("BEGIN")  # one snapshot: the rows and the counts agree
            rows = db.execute(
                f"SELECT {table.columns} FROM {table.name} WHERE {condition} ORDER BY id DESC"
                " LIMIT ? OFFSET ?",
                (*values, limit, offset),
            ).fetchall()
            (total,) = db.execute(
                f"SELECT COUNT(*) FROM {table.name} WHERE {condition}", values
            ).fetchone()
            confirmations, count = db.execute(
                f"SELECT COALESCE(SUM({table.read} IS {table.label}), 0), COUNT(*)"
                f" FROM {table.name}"
            ).fetchone()
        items = [table.row(row) for row in rows]
        return FeedbackPage(items, total, count - confirmations, confirmations)

    def image(self, row_id: int, task: str = "digits") -> bytes | None:
        """The stored PNG of a row; None when there is no such row."""
        table = _table(task)
        with self._connect() as db:
            if not _exists(db, table):
                return None
            found = db.execute(f"SELECT image FROM {table.name} WHERE id = ?", (row_id,)).fetchone()
        return None if found is None else bytes(found[0])

    def relabel(self, row_id: int, label: int | str, task: str = "digits") -> Any:
        """Give a row another label (a digit, or a number's text); None when there is no such
        row. When the same image is stored with that label already, the two are one row: the
        other is kept, this one goes."""
        table = _table(task)
        if task == "numbers":
            check_number(str(label))
        with _writing(self.path) as db:
            found = db.execute(
                f"SELECT digest FROM {table.name} WHERE id = ?", (row_id,)
            ).fetchone()
            if found is None:
                return None
            other = db.execute(
                f"SELECT id FROM {table.name} WHERE digest = ? AND {table.label} = ? AND id != ?",
                (found[0], label, row_id),
            ).fetchone()
            if other is not None:
                db.execute(f"DELETE FROM {table.name} WHERE id = ?", (row_id,))
                row_id = other[0]
            else:
                db.execute(
                    f"UPDATE {table.name} SET {table.label} = ? WHERE id = ?", (label, row_id)
                )
            row = db.execute(
                f"SELECT {table.columns} FROM {table.name} WHERE id = ?", (row_id,)
            ).fetchone()
        return table.row(row)

    def delete(self, row_ids: Sequence[int], task: str = "digits") -> int:
        """Delete these rows (at most MAX_PAGE at once); how many there were."""
        table = _table(task)
        if len(row_ids) > MAX_PAGE:
            raise UsageError(f"at most {MAX_PAGE} rows at once, got {len(row_ids)}")
        with self._connect() as db:
            marks = ", ".join("?" * len(row_ids))
            cursor = db.execute(f"DELETE FROM {table.name} WHERE id IN ({marks})", list(row_ids))
        return cursor.rowcount

    def rows(self) -> Iterator[tuple[int, int, bytes]]:
        """(id, label, png) of every digit correction, oldest first."""
        with self._connect() as db:
            yield from db.execute("SELECT id, label, image FROM feedback ORDER BY id")

    def timeline(self, task: str = "digits") -> Iterator[tuple[int, str, Any, Any, bytes]]:
        """(id, created, label, what the model read, png) of every row, in the order stored."""
        table = _table(task)
        with self._connect() as db:
            if _exists(db, table):
                yield from db.execute(
                    f"SELECT id, created, {table.label}, {table.read}, image FROM {table.name}"
                    " ORDER BY created, id"
                )

    def count(self, task: str | None = None) -> int:
        """Rows of one table, or of both (None)."""
        tables = [_table(task)] if task else list(TASKS.values())
        total = 0
        with self._connect() as db:
            for table in tables:
                if _exists(db, table):
                    total += db.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0]
        return int(total)

    def snapshot(self, dest: Path) -> int:
        """Copy the whole store, as it is now, to `dest` (atomically: a consistent copy taken
        beside running writers, by SQLite's backup); returns the rows copied, digits and
        numbers."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        partial.unlink(missing_ok=True)
        with self._connect() as db, closing(sqlite3.connect(str(partial))) as copy:
            db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        partial.replace(dest)
        return FeedbackStore(dest, read_only=True).count()


def check_number(text: str) -> str:
    """A number's text as the store keeps it: 1 to MAX_LABEL digits (a UsageError otherwise)."""
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= MAX_LABEL):
        raise UsageError(f"a number is 1 to {MAX_LABEL} digits 0-9, got {text[:40]!r}")
    return text


def _table(task: str) -> _Table:
    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    return TASKS[task]


def _exists(db: sqlite3.Connection, table: _Table) -> bool:
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)
    ).fetchone()
    return found is not None


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

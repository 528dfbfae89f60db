"""User corrections: stored in SQLite (WAL mode, one row per correction with the image, what the
model predicted and when) and exported as a `0/`…`9/` folder dataset `digitrec train` can use."""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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
    image BLOB NOT NULL               -- the image as received, decoded to gray, as PNG
)
"""


class FeedbackFullError(DigitrecError):
    """The store holds as many corrections as it may."""


@dataclass(frozen=True)
class Feedback:
    id: int
    created: str
    label: int
    predicted: int | None
    confidence: float


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
        target = str(self.path)
        # autocommit mode (isolation_level None): the transaction is ours, taken with the write
        # lock before the budget is read.
        with closing(sqlite3.connect(target, timeout=10, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
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
                    " image) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (created, label, predicted, confidence, model, source, png),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a failed COMMIT (disk full) may have rolled back already
                    db.execute("ROLLBACK")
                raise
            row_id = cursor.lastrowid
        assert row_id is not None
        return Feedback(row_id, created, label, predicted, confidence)

    def rows(self) -> Iterator[tuple[int, int, bytes]]:
        """(id, label, png) of every correction, oldest first."""
        with self._connect() as db:
            yield from db.execute("SELECT id, label, image FROM feedback ORDER BY id")


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

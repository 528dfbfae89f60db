"""The corrections store under concurrent writers: its budgets (rows and bytes) hold exactly, as
the check and the insert share one transaction, with two processes writing at once like the
server's two workers."""

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest

from digitrec.data.feedback import FeedbackFullError, FeedbackStore

PNG = b"\x89PNG" + bytes(2000)


def _writer(path: str, budget: int, start: object) -> int:
    store = FeedbackStore(Path(path), max_rows=budget)
    attempts = budget  # the two writers together try twice the budget
    start.wait()  # type: ignore[attr-defined]
    stored = 0
    for index in range(attempts):
        try:
            # each image its own (the same image and label twice would be one row)
            image = PNG + f"{os.getpid()}-{index}".encode()
            store.add(index % 10, None, 0.5, "default", f"w{index}.png", image)
            stored += 1
        except FeedbackFullError:
            pass
    return stored


def test_two_processes_never_pass_the_row_budget(tmp_path: Path) -> None:
    """Eight budgets, each crossed by both writers racing (the race is at the crossing: with the
    count outside the insert's transaction, one or two of them overshot by a row or two)."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        for budget in range(5, 45, 5):
            path = tmp_path / f"feedback-{budget}.db"
            FeedbackStore(path)
            start = manager.Barrier(2)
            stored = pool.starmap(_writer, [(str(path), budget, start)] * 2)
            assert sum(stored) == budget
            with sqlite3.connect(path) as db:
                assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (budget,)


def test_the_byte_budget_counts_the_images(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db", max_bytes=3 * len(PNG))
    for label in range(3):
        store.add(label, None, 0.5, "default", "x.png", PNG)
    with pytest.raises(FeedbackFullError, match="of 6,012 bytes of images"):
        store.add(3, None, 0.5, "default", "x.png", PNG + b"another")
    assert store.add(0, None, 0.5, "default", "x.png", PNG).duplicate  # stored already: fits
    store.add(4, None, 0.5, "default", "x.png", b"")  # nothing over the budget still fits
    assert len(list(store.rows())) == 4

"""Corrections of whole numbers (issue 22): a photo's misread number is corrected through the API,
stored with what the reader read, the boxes of its digits and the image it read them from, kept
apart from the digits' corrections, reviewed (paged, retexted, deleted) behind the token, and
read back as the number dataset `feedback-numbers:PATH` (the newest 20% by time its test split)
that `data info` and `evaluate-reader` take. Real parish-row cells throughout."""

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from test_feedback_review import OLD_SCHEMA
from test_serve_api import DIGITREC, api_token, assert_problem, local_client

from digitrec.data.feedback import FeedbackFullError, FeedbackStore
from digitrec.data.numbers import load_numbers
from digitrec.errors import DataError, UsageError
from digitrec.serve.app import create_app
from digitrec.serve.settings import ServeSettings

pytestmark = pytest.mark.usefixtures(api_token.__name__)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def cells() -> Any:
    """Real parish-row cells (validation pages) as a user would upload them: PNG files."""
    return load_numbers("parish-rows", SHARED / "parish-rows")["val"]


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "feedback.db"


@pytest.fixture
def client(db: Path) -> Iterator[Any]:
    settings = ServeSettings(feedback_db=db, backend="torch")
    with local_client(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def send(client: Any, image: bytes, text: str, name: str = "cell.png") -> Any:
    return client.post("/v1/feedback/numbers", files={"file": (name, image)}, data={"text": text})


def test_a_misread_number_is_stored_with_its_reading_boxes_and_line(
    client: Any, cells: Any
) -> None:
    image, truth = png(cells.images[0]), cells.texts[0]
    read = client.post("/v1/read", files={"file": ("cell.png", image)}).json()
    first = send(client, image, truth)
    assert first.status_code == 201, first.text
    row = first.json()
    # the server read the image itself: what it stored is what /v1/read answers
    assert row["read"] == read["text"] and row["text"] == truth
    assert row["kind"] == ("confirmation" if read["text"] == truth else "correction")
    assert len(row["boxes"]) == len(read["text"])
    line = cv2.imdecode(
        np.frombuffer(client.get(f"/v1/feedback/numbers/{row['id']}/image").content, np.uint8),
        cv2.IMREAD_UNCHANGED,
    )
    assert line.ndim == 2 and line.shape == cells.images[0].shape  # gray, small: kept whole
    for x, y, w, h in row["boxes"]:
        assert 0 <= x < x + w <= line.shape[1] and 0 <= y < y + h <= line.shape[0]
    again = send(client, image, truth)
    assert again.status_code == 200 and again.json()["id"] == row["id"]
    assert again.json()["duplicate"] is True
    wrong = str((int(truth[0]) + 1) % 10) + truth[1:]
    other = send(client, image, wrong)  # the same image, another text: another row
    assert other.status_code == 201 and other.json()["kind"] == "correction"
    page = client.get("/v1/feedback/numbers").json()
    assert [item["id"] for item in page["items"]] == [other.json()["id"], row["id"]]
    assert page["total"] == 2 and page["corrections"] + page["confirmations"] == 2
    assert page["items"][0]["model"].startswith("default@")
    # the digits' table does not hold them
    assert client.get("/v1/feedback").json()["total"] == 0
    kind = row["kind"]
    assert client.get("/v1/feedback/numbers", params={"kind": kind}).json()["total"] >= 1


def test_number_rows_are_retexted_and_deleted_behind_the_token(
    client: Any, db: Path, cells: Any
) -> None:
    rows = [send(client, png(cells.images[k]), cells.texts[k]).json() for k in range(3)]
    first = rows[0]
    patched = client.patch(f"/v1/feedback/numbers/{first['id']}", json={"text": "4711"})
    assert patched.status_code == 200 and patched.json()["text"] == "4711"
    assert FeedbackStore(db).relabel(first["id"], "4711", "numbers").text == "4711"
    for bad in ({"text": "12a"}, {"text": ""}, {"text": "1" * 21}, {"label": 3}):
        assert_problem(client.patch(f"/v1/feedback/numbers/{first['id']}", json=bad), 422, "text")
    assert_problem(client.patch("/v1/feedback/numbers/999999", json={"text": "1"}), 404, "no")
    for bad in ("", "12 a", "١٢", "1" * 21):
        assert_problem(send(client, png(cells.images[3]), bad), 422, "text")
    stranger = local_client(client.app, token=False)
    assert stranger.get("/v1/feedback/numbers").status_code == 401
    assert stranger.delete(f"/v1/feedback/numbers/{first['id']}").status_code == 401
    assert stranger.post("/v1/feedback/numbers", data={"text": "1"}).status_code == 401
    assert client.delete(f"/v1/feedback/numbers/{first['id']}").status_code == 204
    assert client.delete(f"/v1/feedback/numbers/{first['id']}").status_code == 404
    ids = ",".join(str(row["id"]) for row in rows[1:])
    assert client.delete("/v1/feedback/numbers", params={"ids": ids}).json() == {"deleted": 2}
    assert client.get("/v1/feedback/numbers").json()["total"] == 0
    # nothing was typed into the digits' table on the way
    assert FeedbackStore(db, read_only=True).count("digits") == 0


def test_the_budget_counts_digits_and_numbers_together(db: Path, cells: Any) -> None:
    store = FeedbackStore(db, max_rows=2)
    store.add(3, 3, 0.9, "default", "d.png", png(cells.images[0][:, :20]))
    store.add_number("12", "17", 0.5, "default", "n.png", png(cells.images[1]), [[0, 0, 5, 5]])
    with pytest.raises(FeedbackFullError, match="full"):
        store.add_number("13", "", 0.0, "default", "n.png", png(cells.images[2]), [])
    with pytest.raises(UsageError, match="1 to 20 digits"):
        store.add_number("1-2", "", 0.0, "default", "n.png", png(cells.images[2]), [])
    assert (store.count(), store.count("digits"), store.count("numbers")) == (2, 1, 1)
    copy = db.with_name("copy.db")
    assert store.snapshot(copy) == 2


def test_the_store_is_a_number_dataset_split_by_time(db: Path, cells: Any, tmp_path: Path) -> None:
    store = FeedbackStore(db)
    for k in range(20):
        read = cells.texts[k] if k % 3 else cells.texts[k][:-1]
        store.add_number(cells.texts[k], read, 0.5, "default@v1", f"c{k}", png(cells.images[k]), [])
    splits = load_numbers(f"feedback-numbers:{db}")
    assert [len(splits[s]) for s in ("train", "val", "test", "all")] == [14, 2, 4, 20]
    assert splits["test"].texts == cells.texts[16:20]  # the newest 20%
    names = [set(splits[s].files) for s in ("train", "val", "test")]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    info = subprocess.run(
        [str(DIGITREC), "data", "info", f"feedback-numbers:{db}"], capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    assert "20" in info.stdout and "test" in info.stdout
    scored = subprocess.run(
        [str(DIGITREC), "evaluate-reader", "--dataset", f"feedback-numbers:{db}", "--json"],
        capture_output=True,
        text=True,
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["count"] == 4


def test_a_store_without_numbers_reads_as_none(tmp_path: Path) -> None:
    """A store made before the numbers table (or a digits-only one) has no number rows; the
    dataset says so in one line; opened for writing, it gains the table."""
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as made:
        made.execute(OLD_SCHEMA)
    read_only = FeedbackStore(old, read_only=True)
    assert read_only.count("numbers") == 0 and read_only.page(task="numbers").total == 0
    with pytest.raises(DataError, match="no number corrections yet"):
        load_numbers(f"feedback-numbers:{old}")
    with pytest.raises(DataError, match="no feedback database"):
        load_numbers(f"feedback-numbers:{tmp_path / 'none.db'}")
    FeedbackStore(old).add_number(
        "7", "1", 0.4, "default", "x", png(np.full((30, 30), 255, np.uint8)), []
    )
    assert FeedbackStore(old, read_only=True).count("numbers") == 1


def test_the_cli_lists_retexts_and_deletes_number_rows(db: Path, cells: Any) -> None:
    store = FeedbackStore(db)
    rows = [
        store.add_number(cells.texts[k], "", 0.0, "default", f"c{k}", png(cells.images[k]), [])
        for k in range(2)
    ]
    store.add(3, 5, 0.9, "default", "d.png", png(cells.images[5]))

    def cli(*args: str) -> Any:
        return subprocess.run(
            [str(DIGITREC), "feedback", *args, "--db", str(db)], capture_output=True, text=True
        )

    listed = cli("list", "--numbers", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert {json.loads(line)["text"] for line in listed.stdout.splitlines()} == {
        cells.texts[0],
        cells.texts[1],
    }
    retexted = cli("relabel", str(rows[0].id), "0815", "--numbers")
    assert retexted.returncode == 0 and "the number 0815" in retexted.stdout, retexted.stderr
    refused = cli("relabel", str(rows[0].id), "08-15", "--numbers")
    assert refused.returncode != 0 and "1 to 20 digits" in refused.stderr
    assert "Traceback" not in refused.stderr
    wrong_kind = cli("relabel", "1", "12")  # a digit row takes a digit
    assert wrong_kind.returncode != 0 and "LABEL is a digit" in wrong_kind.stderr
    deleted = cli("delete", str(rows[1].id), "--numbers")
    assert deleted.returncode == 0 and "deleted 1 of 1" in deleted.stdout
    assert (store.count("numbers"), store.count("digits")) == (1, 1)

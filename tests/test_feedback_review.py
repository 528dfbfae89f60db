"""Reviewing the corrections (issue 22): one row per image and label, confirmations counted apart
from corrections, and the store listed, relabelled and deleted through the API (behind the
token) and the CLI; a store made before the digests is brought up to date when opened."""

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_serve_api import DIGITREC, api_token, assert_problem, local_client, scan

from digitrec.data import load
from digitrec.data.feedback import FeedbackStore
from digitrec.serve.app import create_app
from digitrec.serve.settings import ServeSettings

pytestmark = pytest.mark.usefixtures(api_token.__name__)  # the token every server here has

# The store as it was made before the digests (issue 22).
OLD_SCHEMA = """
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER,
    confidence REAL NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    image BLOB NOT NULL
)
"""


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> Any:
    return load("mnist", "test", mnist_dir)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "feedback.db"


@pytest.fixture
def client(db: Path) -> Iterator[Any]:
    settings = ServeSettings(feedback_db=db, backend="torch")
    with local_client(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def send(client: Any, image: bytes, label: int) -> Any:
    return client.post("/v1/feedback", files={"file": ("d.png", image)}, data={"label": str(label)})


def test_one_row_per_image_and_label_and_confirmations_apart(client: Any, digits: Any) -> None:
    """Clicking 1, 1 again, then the digit the model read: one correction and one confirmation
    (the second 1 answers with the first row, 200 not 201)."""
    image, truth = scan(digits.images[0]), int(digits.labels[0])
    wrong = (truth + 1) % 10
    first = send(client, image, wrong)
    assert first.status_code == 201 and first.json()["kind"] == "correction"
    again = send(client, image, wrong)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    confirmed = send(client, image, truth)
    assert confirmed.status_code == 201 and confirmed.json()["kind"] == "confirmation"
    page = client.get("/v1/feedback").json()
    assert (page["total"], page["corrections"], page["confirmations"]) == (2, 1, 1)
    assert [item["id"] for item in page["items"]] == [confirmed.json()["id"], first.json()["id"]]


def test_review_lists_relabels_and_deletes_behind_the_token(client: Any, digits: Any) -> None:
    images = [scan(digits.images[k]) for k in range(6)]
    rows = [send(client, image, k).json() for k, image in enumerate(images)]
    ids = [row["id"] for row in rows]
    page = client.get("/v1/feedback", params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == ids[-2:-4:-1] and page["total"] == 6
    assert client.get("/v1/feedback", params={"label": 3}).json()["total"] == 1
    kinds = client.get("/v1/feedback", params={"kind": "confirmation"}).json()
    assert (
        kinds["total"] == kinds["confirmations"] == sum(r["kind"] == "confirmation" for r in rows)
    )
    assert_problem(client.get("/v1/feedback", params={"limit": 101}), 422, "limit")
    assert_problem(client.get("/v1/feedback", params={"offset": 2**64}), 422, "offset")
    assert_problem(client.get("/v1/feedback", params={"kind": "any"}), 422, "kind")

    picture = client.get(f"/v1/feedback/{ids[0]}/image")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    assert_problem(client.get("/v1/feedback/999999/image"), 404, "no correction 999999")

    relabelled = client.patch(f"/v1/feedback/{ids[1]}", json={"label": 7})
    assert relabelled.status_code == 200 and relabelled.json()["label"] == 7
    assert_problem(client.patch(f"/v1/feedback/{ids[1]}", json={"label": 10}), 422, "label")
    assert_problem(client.patch("/v1/feedback/999999", json={"label": 1}), 404, "no correction")
    # relabelled to a label its image has already: the two rows are one
    other = send(client, images[2], 9).json()
    merged = client.patch(f"/v1/feedback/{other['id']}", json={"label": 2})
    assert merged.json()["id"] == ids[2]
    assert client.get("/v1/feedback").json()["total"] == 6

    assert client.delete(f"/v1/feedback/{ids[0]}").status_code == 204
    assert_problem(client.delete(f"/v1/feedback/{ids[0]}"), 404, "no correction")
    many = client.delete("/v1/feedback", params={"ids": f"{ids[3]},{ids[4]},{ids[0]}"})
    assert many.json() == {"deleted": 2}
    for bad in ("1,x", "0", str(2**63)):  # not a row id, or past SQLite's largest
        assert_problem(client.delete("/v1/feedback", params={"ids": bad}), 422, "ids")
    assert_problem(client.patch(f"/v1/feedback/{2**63}", json={"label": 1}), 422, "row_id")
    too_many = ",".join(str(k) for k in range(1, 102))
    assert_problem(client.delete("/v1/feedback", params={"ids": too_many}), 422, "1 to 100")
    assert client.get("/v1/feedback").json()["total"] == 3

    stranger = local_client(client.app, token=False)
    for method, path in (
        ("get", "/v1/feedback"),
        ("get", f"/v1/feedback/{ids[1]}/image"),
        ("patch", f"/v1/feedback/{ids[1]}"),
        ("delete", f"/v1/feedback/{ids[1]}"),
        ("delete", f"/v1/feedback?ids={ids[1]}"),
    ):
        response = getattr(stranger, method)(
            path, **({"json": {"label": 1}} if method == "patch" else {})
        )
        assert response.status_code == 401, (method, path, response.text)
    assert client.get("/v1/feedback").json()["total"] == 3


def test_a_store_from_before_the_digests_is_brought_up_to_date(db: Path) -> None:
    """Its rows gain their images' digests and repeats of an image and label go (the oldest is
    kept), so that the same correction sent again is that row."""
    with sqlite3.connect(db) as connection:
        connection.execute(OLD_SCHEMA)
        for label, image in ((3, b"png-a"), (3, b"png-a"), (4, b"png-a"), (3, b"png-b")):
            connection.execute(
                "INSERT INTO feedback (created, label, predicted, confidence, model, source, image)"
                " VALUES ('2026-01-01T00:00:00', ?, 1, 0.5, 'default', 'x.png', ?)",
                (label, image),
            )
    store = FeedbackStore(db)
    assert [(item.id, item.label) for item in store.page().items] == [(4, 3), (3, 4), (1, 3)]
    assert store.add(3, 1, 0.5, "default", "x.png", b"png-a").id == 1  # the same row


def test_the_cli_lists_relabels_and_deletes(db: Path) -> None:
    store = FeedbackStore(db)
    for label in range(3):
        store.add(label, 2, 0.9, "default", f"d{label}.png", bytes([label]) * 10)

    def digitrec(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DIGITREC), "feedback", *args, "--db", str(db)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    listing = digitrec("list", "--format", "csv")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("id,created,predicted,label,kind")
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "2", "1"]
    assert "confirmation" in lines[1] and "correction" in lines[2]
    assert "2 corrections and 1 confirmations" in digitrec("list").stdout
    relabel = digitrec("relabel", "1", "5")
    assert relabel.returncode == 0 and "now a 5" in relabel.stdout
    assert digitrec("relabel", "99", "5").returncode == 2
    assert digitrec("relabel", "1", "12").returncode == 2
    deleted = digitrec("delete", "1", "2", "99")
    assert deleted.returncode == 1 and "deleted 2 of 3" in deleted.stdout
    assert [item.id for item in store.page().items] == [3]
    missing = subprocess.run(
        [str(DIGITREC), "feedback", "list", "--db", str(db.parent / "none.db")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 1 and "no feedback database" in missing.stderr
    other = db.parent / "other.db"
    other.write_bytes(b"not a database at all" * 100)
    for action in (["list"], ["relabel", "1", "2"], ["delete", "1"]):
        broken = subprocess.run(
            [str(DIGITREC), "feedback", *action, "--db", str(other)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert broken.returncode == 1 and "not a usable feedback database" in broken.stderr
        assert len(broken.stderr.strip().splitlines()) == 1, broken.stderr

"""The REST API through FastAPI's TestClient: every route on real MNIST test digits (as the PNG
and JPEG files users upload), agreement with the Python API, and every error path as a problem
document with the right status."""

import base64
import gc
import hashlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

import digitrec
from digitrec.data import load
from digitrec.data.folder import load_parts
from digitrec.export.onnx_export import export_onnx
from digitrec.models.modelfile import resolve_model_path
from digitrec.serve.app import create_app
from digitrec.serve.explain import smoothgrad
from digitrec.serve.guard import inline_scripts
from digitrec.serve.routes import MIN_FREE_BYTES
from digitrec.serve.settings import ServeSettings

DIGITREC = Path(sys.executable).with_name("digitrec")
PROBLEM = "application/problem+json"


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def scan(digit: np.ndarray) -> bytes:
    """A real MNIST digit as a user's upload: dark ink on white, 4× larger, PNG."""
    return png(cv2.resize(255 - digit, (112, 112), interpolation=cv2.INTER_CUBIC))


def line_page(digits: np.ndarray) -> np.ndarray:
    """Digits side by side, apart, dark on white paper (one handwritten number)."""
    glyphs = [cv2.resize(d, (56, 56), interpolation=cv2.INTER_CUBIC) for d in digits]
    page = np.zeros((96, 20 + 68 * len(glyphs)), np.uint8)
    for i, glyph in enumerate(glyphs):
        page[20:76, 20 + 68 * i : 76 + 68 * i] = glyph
    return 255 - page


TOKEN = "test-token-3f9c2a7b1d"  # every server here is given it (DIGITREC_SERVE_TOKEN)
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module", autouse=True)
def api_token() -> Iterator[str]:
    """The servers of this module use TOKEN, not one generated into the user's home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITREC_SERVE_TOKEN", TOKEN)
        yield TOKEN


def local_client(app: Any, *, token: bool = True, **options: Any) -> TestClient:
    """A TestClient that calls the server by a name it answers to (TestClient's default Host,
    'testserver', gets 400: see serve.guard), with the API token unless token=False."""
    headers = BEARER if token else {}
    return TestClient(app, base_url="http://127.0.0.1", headers=headers, **options)


@pytest.fixture(scope="module")
def test_set(mnist_dir: Path) -> Any:
    return load("mnist", "test", mnist_dir)


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve") / "feedback.db"


@pytest.fixture(scope="module")
def client(feedback_db: Path) -> Iterator[TestClient]:
    settings = ServeSettings(feedback_db=feedback_db, batch_max=8, backend="torch")
    with local_client(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"]
    assert words in body["detail"], body["detail"]
    assert "Traceback" not in response.text


def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample of the Prometheus text at /metrics (0 when the series does not exist yet)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{"):
            series, value = line.rsplit(" ", 1)
            found = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    return 0.0


def test_predict_reads_uploaded_digits_like_the_python_api(
    client: TestClient, test_set: Any
) -> None:
    before = metric(
        client, "digitrec_requests_total", route="/v1/predict", method="POST", status="200"
    )
    right = 0
    for image, label in zip(test_set.images[:20], test_set.labels[:20], strict=True):
        data = scan(image)
        response = client.post("/v1/predict", files={"file": ("digit.png", data, "image/png")})
        assert response.status_code == 200, response.text
        body = response.json()
        local = digitrec.predict(data)
        assert body["digit"] == local.digit
        assert body["probabilities"] == pytest.approx(local.probabilities, abs=1e-5)
        assert body["file"] == "digit.png" and body["model"] == "default" and body["ms"] > 0
        assert [t["digit"] for t in body["top3"]] == [d for d, _ in local.top3]
        right += body["digit"] == int(label)
    assert right >= 19
    after = metric(
        client, "digitrec_requests_total", route="/v1/predict", method="POST", status="200"
    )
    assert after - before == 20


def test_predict_takes_base64_data_urls_and_raw_bodies(client: TestClient, test_set: Any) -> None:
    data = scan(test_set.images[0])
    encoded = base64.b64encode(data).decode()
    answers = [
        client.post("/v1/predict", files={"file": ("a.png", data)}),
        client.post("/v1/predict", json={"image": encoded}),
        client.post("/v1/predict", json={"image": "data:image/png;base64," + encoded}),
        client.post("/v1/predict", content=data, headers={"content-type": "image/png"}),
    ]
    digits = {r.json()["digit"] for r in answers}
    assert [r.status_code for r in answers] == [200] * 4
    assert digits == {int(test_set.labels[0])}


def test_blank_and_unsure_images_are_no_digit_and_counted(
    client: TestClient, test_set: Any
) -> None:
    before = metric(client, "digitrec_rejections_total", reason="no_digit")
    blank = client.post(
        "/v1/predict", files={"file": ("blank.png", png(np.full((80, 80), 255, np.uint8)))}
    )
    assert blank.status_code == 200
    assert blank.json()["digit"] is None and blank.json()["reason"]
    assert metric(client, "digitrec_rejections_total", reason="no_digit") == before + 1

    data = scan(test_set.images[1])
    sure = client.post("/v1/predict", files={"file": ("d.png", data)}).json()
    assert sure["confidence"] < 0.9999  # calibrated: never quite certain, so a threshold bites
    above = sure["confidence"] + 1e-5
    unsure = client.post(f"/v1/predict?threshold={above}", files={"file": ("d.png", data)})
    assert unsure.json()["digit"] is None
    assert unsure.json()["reason"].startswith("unsure")
    assert_problem(
        client.post("/v1/predict?threshold=2", files={"file": ("d.png", data)}), 422, "threshold"
    )


def test_batch_keeps_order_and_reports_bad_files_in_place(
    client: TestClient, test_set: Any
) -> None:
    files = [("files", (f"{i}.png", scan(test_set.images[i]))) for i in range(5)]
    files.insert(2, ("files", ("broken.png", b"\x89PNG\r\n\x1a\n broken")))
    response = client.post("/v1/predict/batch", files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["file"] for r in results] == [
        "0.png",
        "1.png",
        "broken.png",
        "2.png",
        "3.png",
        "4.png",
    ]
    assert "not a readable image" in results[2]["error"] and results[2]["digit"] is None
    good = [r["digit"] for i, r in enumerate(results) if i != 2]
    assert good == [int(x) for x in test_set.labels[:5]]

    as_json = client.post(
        "/v1/predict/batch",
        json={"images": [base64.b64encode(scan(test_set.images[i])).decode() for i in range(3)]},
    )
    assert [r["digit"] for r in as_json.json()["results"]] == [int(x) for x in test_set.labels[:3]]

    too_many = [("files", (f"{i}.png", scan(test_set.images[0]))) for i in range(9)]
    assert_problem(client.post("/v1/predict/batch", files=too_many), 413, "at most 8")
    assert_problem(client.post("/v1/predict/batch", json={"images": []}), 422, "no image")
    assert_problem(client.post("/v1/predict/batch", json={"images": "abc"}), 422, "list")


def test_read_returns_the_number_and_boxes_like_the_python_api(
    client: TestClient, test_set: Any
) -> None:
    page = line_page(test_set.images[10:15])
    data = png(page)
    response = client.post("/v1/read", files={"file": ("number.png", data)})
    assert response.status_code == 200, response.text
    body = response.json()
    local = digitrec.read(data)
    assert body["text"] == local.text
    assert body["text"] == "".join(str(int(d)) for d in test_set.labels[10:15])
    assert (body["width"], body["height"]) == (page.shape[1], page.shape[0])
    assert [d["box"] for d in body["digits"]] == [list(d.box) for d in local.digits]
    for digit in body["digits"]:
        x, y, w, h = digit["box"]
        assert min(x, y) >= 0 and x + w <= page.shape[1] and y + h <= page.shape[0]

    blank = client.post(
        "/v1/read", files={"file": ("blank.png", png(np.full((60, 200), 250, np.uint8)))}
    )
    assert blank.status_code == 200 and blank.json()["text"] == "" and blank.json()["reason"]


def test_explain_shows_what_the_network_saw_and_where_it_looked(
    client: TestClient, test_set: Any
) -> None:
    data = scan(test_set.images[3])
    body = client.post("/v1/explain", files={"file": ("d.png", data)}).json()
    assert body["digit"] == int(test_set.labels[3]) == body["explained"]
    assert body["method"] == "smoothgrad"
    seen = cv2.imdecode(
        np.frombuffer(base64.b64decode(body["input_png"].split(",")[1]), np.uint8), -1
    )
    overlay = cv2.imdecode(
        np.frombuffer(base64.b64decode(body["saliency_png"].split(",")[1]), np.uint8), -1
    )
    assert seen.shape == (280, 280) and overlay.shape == (280, 280, 3)
    assert seen.max() == 255 and seen[:20].max() < 40  # ink bright in the middle, dark border

    raw = client.post("/v1/explain?format=png", files={"file": ("d.png", data)})
    assert raw.headers["content-type"] == "image/png"
    assert cv2.imdecode(np.frombuffer(raw.content, np.uint8), -1).shape == (280, 280, 3)

    blank = client.post(
        "/v1/explain", files={"file": ("b.png", png(np.full((50, 50), 255, np.uint8)))}
    )
    assert_problem(blank, 422, "no digit")


def test_saliency_points_at_the_pixels_the_decision_depends_on(test_set: Any) -> None:
    """Faithfulness: flipping the 20 most salient pixels hurts the true class far more than
    flipping 20 random ones."""
    classifier = digitrec.load_model("default", backend="torch")
    module = classifier.module  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    salient_drop, random_drop = [], []
    for digit, label in zip(test_set.images[:10], test_set.labels[:10], strict=True):
        order = np.argsort(smoothgrad(module, digit).heat.ravel())[::-1]
        flipped = []
        for pixels in (order[:20], rng.choice(784, 20, replace=False)):
            image = digit.ravel().copy()
            image[pixels] = 255 - image[pixels]
            flipped.append(image.reshape(28, 28))
        before = classifier.predict_proba(digit[None])[0, label]
        after = classifier.predict_proba(np.stack(flipped))[:, label]
        salient_drop.append(before - after[0])
        random_drop.append(before - after[1])
    assert np.mean(salient_drop) > 0.5
    assert np.mean(salient_drop) > 2 * np.mean(random_drop)


def test_feedback_is_stored_and_exported_as_a_folder_dataset(
    client: TestClient, test_set: Any, feedback_db: Path, tmp_path: Path
) -> None:
    data = scan(test_set.images[4])
    label = (int(test_set.labels[4]) + 1) % 10  # a "correction" the model disagrees with
    response = client.post(
        "/v1/feedback", files={"file": ("mine.png", data)}, data={"label": str(label)}
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["label"] == label and record["predicted"] == int(test_set.labels[4])
    as_json = client.post(
        "/v1/feedback", json={"image": base64.b64encode(data).decode(), "label": 7}
    )
    assert as_json.status_code == 201 and as_json.json()["id"] == record["id"] + 1

    with sqlite3.connect(feedback_db) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = db.execute(
            "SELECT label, predicted, source, image FROM feedback WHERE id = ?", (record["id"],)
        ).fetchone()
    assert row[:3] == (label, int(test_set.labels[4]), "mine.png")
    stored = cv2.imdecode(np.frombuffer(row[3], np.uint8), cv2.IMREAD_UNCHANGED)
    assert stored.shape == (112, 112)

    for bad in ("10", "x", "-1", ""):
        assert_problem(
            client.post("/v1/feedback", files={"file": ("m.png", data)}, data={"label": bad}),
            422,
            "label",
        )
    assert_problem(client.post("/v1/feedback", files={"file": ("m.png", data)}), 422, "label")

    out = tmp_path / "corrections"
    done = subprocess.run(
        [str(DIGITREC), "feedback", "export", str(out), "--db", str(feedback_db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / str(label) / f"feedback-{record['id']:06d}.png").is_file()
    parts = load_parts(out)
    total = sum(len(part.labels) for part in parts.values())
    assert total == len(list(out.rglob("*.png"))) >= 2
    missing = subprocess.run(
        [str(DIGITREC), "feedback", "export", str(out), "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1 and "no feedback database" in missing.stderr


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return len(payload).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("request_kwargs", "status", "words"),
    [
        ({"files": {"file": ("a.png", b"%PDF-1.4 not an image")}}, 415, "not a readable image"),
        ({"files": {"file": ("a.png", b"\x89PNG\r\n\x1a\n\0\0")}}, 415, "truncated"),
        ({"files": {"file": ("a.png", b"")}}, 415, "empty file"),
        ({"files": {"file": ("huge.png", bomb_png(50_000, 50_000))}}, 413, "pixel limit"),
        ({"files": {"image": ("a.png", b"x")}}, 422, "unexpected file field"),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        (
            {"content": b"{nope", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ({"json": ["a"]}, 422, "object"),
        ({"json": {"picture": "abc"}}, 422, "no image"),
        ({"json": {"image": "***"}}, 422, "base64"),
        ({"json": {"image": "data:image/png,abc"}}, 422, "base64"),
        ({"json": {"image": 5}}, 422, "base64 string"),
        ({"files": {"label": (None, "3")}}, 422, "no image"),
        ({"data": {"label": "3"}}, 415, "multipart"),
    ],
)
def test_bad_requests_get_a_problem_with_the_right_status(
    client: TestClient, request_kwargs: dict[str, Any], status: int, words: str
) -> None:
    for route in ("/v1/predict", "/v1/read", "/v1/explain"):
        assert_problem(client.post(route, **request_kwargs), status, words)


def claims(kind: str, width: int, height: int) -> bytes:
    """A few bytes of a GIF, WebP, TIFF or PNM header that claim a big image (no pixels)."""
    if kind == "gif":
        return b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little") + bytes(25)
    if kind == "webp":
        size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        return b"RIFF" + bytes(4) + b"WEBPVP8X" + bytes(8) + size + bytes(10)
    if kind == "tiff":
        entries = [(256, width), (257, height)]
        ifd = len(entries).to_bytes(2, "little")
        for tag, value in entries:
            ifd += tag.to_bytes(2, "little") + (4).to_bytes(2, "little")
            ifd += (1).to_bytes(4, "little") + value.to_bytes(4, "little")
        return b"II*\0" + (8).to_bytes(4, "little") + ifd + bytes(4)
    return f"P5\n# a comment\n{width} {height}\n255\n".encode() + bytes(16)


@pytest.mark.parametrize("kind", ["gif", "webp", "tiff", "pnm"])
def test_image_bombs_are_refused_from_their_header(client: TestClient, kind: str) -> None:
    """A few bytes claiming 20,000 × 20,000 pixels are refused before anything is decoded (a
    decoder would allocate gigabytes first); the same header with a small size is decoded."""
    bomb = claims(kind, 20_000, 20_000)
    assert len(bomb) < 64
    assert_problem(client.post("/v1/predict", files={"file": ("x", bomb)}), 413, "20000×20000")
    batch = client.post("/v1/predict/batch", files=[("files", ("x", bomb))] * 3)
    assert all("pixel limit" in r["error"] for r in batch.json()["results"])
    paper = np.full((30, 40, 3), 255, np.uint8)
    real = cv2.imencode(f".{kind if kind != 'pnm' else 'ppm'}", paper)[1].tobytes()
    blank = client.post("/v1/predict", files={"file": ("x", real)})
    assert blank.status_code == 200 and blank.json()["reason"]  # decoded: blank paper


def test_unknown_routes_and_methods_are_problems_too(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing"), 404, "Not Found")
    assert_problem(client.get("/v1/predict"), 405, "Method Not Allowed")
    before = metric(client, "digitrec_errors_total", route="other", status="404")
    client.get("/wp-admin")
    assert metric(client, "digitrec_errors_total", route="other", status="404") == before + 1


def test_info_routes(client: TestClient, test_set: Any) -> None:
    client.post("/v1/predict", files={"file": ("d.png", scan(test_set.images[0]))})
    health = client.get("/healthz").json()
    assert {k: health[k] for k in ("status", "model")} == {"status": "ok", "model": "default"}
    checks = health["checks"]
    assert checks["model"] == checks["feedback"] == "ok" and checks["disk_free_bytes"] > 0
    assert checks["disk"] == ("ok" if checks["disk_free_bytes"] >= MIN_FREE_BYTES else "low")
    models = client.get("/v1/models").json()
    assert models["loaded"]["name"] == "default" and models["loaded"]["backend"] == "torch"
    assert models["loaded"]["reader"] == "line"  # shipped in the package, so "auto" picks it
    assert models["loaded"]["card"]["architecture"] == "default"
    params = {m["name"]: m["params"] for m in models["available"]}
    assert params["default"] == 252_138 and params["student"] < 20_000
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/predict/batch", "/v1/read", "/v1/explain", "/v1/feedback"} <= set(
        paths
    )
    assert "multipart/form-data" in paths["/v1/read"]["post"]["requestBody"]["content"]
    for path, methods in paths.items():  # every error each route can answer, as a problem
        for method, operation in methods.items():
            answers = operation["responses"]
            expected = {"400", "500"} | (
                {"401", "403", "408", "413", "503"}  # no body: a switch of models
                if path == "/v1/models/reload"
                else {"403", "408", "413", "415", "422", "429", "503", "504"}
                if method == "post" and path != "/v1/session"  # a JSON body, not an image
                else {"401", "403", "408", "413", "422", "429"}
                if method == "post"
                else set()
            )
            assert expected <= set(answers), (method, path)
            for status in expected:
                schema = answers[status]["content"]["application/problem+json"]["schema"]
                assert schema["required"] == ["type", "title", "status", "detail"]
    assert "507" in paths["/v1/feedback"]["post"]["responses"]
    # what needs the token says so, and how to send it
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, method in (("/v1/feedback", "post"), ("/metrics", "get")):
        assert paths[path][method]["security"] == [{"HTTPBearer": []}]
        assert "401" in paths[path][method]["responses"]
    assert "security" not in paths["/v1/predict"]["post"]  # auth "writes": reading is open
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    wrong = client.post("/v1/read", content=b"text", headers={"content-type": "text/plain"})
    assert_problem(wrong, 415, "")
    assert wrong.headers["content-type"] == "application/problem+json"
    text = client.get("/metrics").text
    assert "# TYPE digitrec_request_seconds histogram" in text
    assert 'digitrec_request_seconds_bucket{le="0.005",route="/v1/predict"}' in text


def test_what_start_up_loaded_is_kept_out_of_the_garbage_collector(feedback_db: Path) -> None:
    """Frozen after start-up (a full collection over torch and the models would pause a request
    now and then), unfrozen at shutdown."""
    gc.unfreeze()
    with local_client(create_app(ServeSettings(feedback_db=feedback_db, backend="torch"))) as c:
        assert c.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 100_000
    assert gc.get_freeze_count() == 0


def test_body_limit_refuses_big_uploads_declared_or_streamed(feedback_db: Path) -> None:
    app = create_app(ServeSettings(feedback_db=feedback_db, max_body_bytes=4096))
    big = bytes(10_000)
    with local_client(app, raise_server_exceptions=False) as small:
        assert_problem(small.post("/v1/predict", files={"file": ("a.png", big)}), 413, "limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it arrives
            for _ in range(10):
                yield bytes(1000)

        streamed = small.post(
            "/v1/predict", content=chunks(), headers={"content-type": "image/png"}
        )
        assert_problem(streamed, 413, "limit")
        assert small.get("/healthz").status_code == 200


def test_cors_is_off_unless_origins_are_configured(client: TestClient, feedback_db: Path) -> None:
    preflight = {"origin": "https://elsewhere.example", "access-control-request-method": "POST"}
    assert (
        "access-control-allow-origin"
        not in client.options("/v1/predict", headers=preflight).headers
    )
    app = create_app(
        ServeSettings(feedback_db=feedback_db, cors_origins=["https://elsewhere.example"])
    )
    with local_client(app) as open_client:
        allowed = open_client.options("/v1/predict", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://elsewhere.example"


def test_foreign_hosts_and_cross_site_writes_are_refused(test_set: Any, tmp_path: Path) -> None:
    """DNS rebinding (a foreign Host) gets 400; a form post from another site's page gets 403 and
    stores nothing; the server's own page, listed origins and non-browser clients still write."""
    database = tmp_path / "feedback.db"
    settings = ServeSettings(feedback_db=database, cors_origins=["https://forms.example"])
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}, "data": {"label": "7"}}
    with local_client(create_app(settings), raise_server_exceptions=False) as served:
        assert_problem(served.get("/healthz", headers={"host": "evil.example"}), 400, "Host")
        assert_problem(served.get("/", headers={"host": "evil.example:8000"}), 400, "Host")
        assert served.get("/healthz", headers={"host": "localhost:8000"}).status_code == 200
        assert served.get("/healthz", headers={"host": "[::1]:8000"}).status_code == 200
        evil = served.post("/v1/feedback", headers={"origin": "http://evil.example"}, **form)
        assert_problem(evil, 403, "another site")
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)
        for nobody in ("null", "http://127.0.0.1.evil.example", "http://127.0.0.1:9"):
            refused = served.post("/v1/feedback", headers={"origin": nobody}, **form)
            assert_problem(refused, 403, "another site")  # a sandboxed frame; look-alikes
        # the server's own page (also as https, at a proxy in front), listed origins, and
        # clients that are not browsers (no Origin)
        origins = ("http://127.0.0.1", "https://127.0.0.1", "https://forms.example", None)
        for label, origin in enumerate(origins):  # each its own label: each a new row
            headers = {"origin": origin} if origin else {}
            sent = {"files": form["files"], "data": {"label": str(label)}}
            assert served.post("/v1/feedback", headers=headers, **sent).status_code == 201
        reading = served.post("/v1/read", headers={"origin": "http://evil.example"}, **form)
        assert reading.status_code == 403  # inference is a write of CPU time: same rule
    anywhere = ServeSettings(feedback_db=database, allowed_hosts="*")
    with local_client(create_app(anywhere)) as served:
        assert served.get("/healthz", headers={"host": "digits.lan"}).status_code == 200


def test_an_unwritable_feedback_store_leaves_reading_up(test_set: Any, tmp_path: Path) -> None:
    """A feedback database that cannot be created (here under a file; a read-only home is the
    same to the server) stops only corrections: 503 there, said in /healthz, reads go on."""
    blocker = tmp_path / "home"
    blocker.write_text("a file where the folder should be")
    settings = ServeSettings(feedback_db=blocker / "feedback.db")
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}}
    with local_client(create_app(settings), raise_server_exceptions=False) as served:
        assert served.post("/v1/predict", **form).status_code == 200
        refused = served.post("/v1/feedback", data={"label": "7"}, **form)
        assert_problem(refused, 503, "corrections cannot be stored")
        health = served.get("/healthz").json()
        assert health["status"] == "ok" and "cannot be stored" in health["checks"]["feedback"]


def test_routes_take_the_store_and_the_limits_as_dependencies(
    test_set: Any, tmp_path: Path
) -> None:
    """What the lifespan sets up, routes get through FastAPI dependencies, so a deployment (or a
    test) swaps it with `dependency_overrides`: here a real store that holds one correction
    (the second is 507, the first kept) and real buckets of two reads per client (the third is
    429, with Retry-After)."""
    from digitrec.data.feedback import FeedbackStore
    from digitrec.serve.dependencies import Limits, get_feedback_store, get_limits
    from digitrec.serve.limits import RateLimiter

    app = create_app(ServeSettings(feedback_db=tmp_path / "unused.db", backend="torch"))
    small = FeedbackStore(tmp_path / "small.db", max_rows=1, max_bytes=10_000_000)
    app.dependency_overrides[get_feedback_store] = lambda: small
    limits = Limits(*(RateLimiter(what, 1e-6, 2) for what in ("reads", "corrections", "sign-ins")))
    app.dependency_overrides[get_limits] = lambda: limits
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}}
    with local_client(app, raise_server_exceptions=False) as served:
        assert served.post("/v1/feedback", data={"label": "7"}, **form).status_code == 201
        assert_problem(served.post("/v1/feedback", data={"label": "1"}, **form), 507, "full")
        assert [served.post("/v1/read", **form).status_code for _ in range(2)] == [200, 200]
        third = served.post("/v1/predict", **form)
        assert_problem(third, 429, "reads")
        assert int(third.headers["retry-after"]) > 0
    configured = FeedbackStore(tmp_path / "unused.db", max_rows=10, max_bytes=10_000_000)
    assert len(list(small.rows())) == 1 and list(configured.rows()) == []


def test_corrections_and_metrics_need_the_token(test_set: Any, tmp_path: Path) -> None:
    """Without the token, or with another, what writes or reveals stored data answers 401 (a
    problem, a Bearer challenge) and stores nothing; reading digits stays open."""
    database = tmp_path / "feedback.db"
    app = create_app(ServeSettings(feedback_db=database, backend="torch"))
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}, "data": {"label": "7"}}
    with local_client(app, token=False) as stranger:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Cookie": "x"}):
            refused = stranger.post("/v1/feedback", headers=headers, **form)
            assert_problem(refused, 401, "API token")
            assert refused.headers["www-authenticate"] == 'Bearer realm="digitrec"'
            assert_problem(stranger.get("/metrics", headers=headers), 401, "API token")
        assert stranger.post("/v1/predict", files=form["files"]).status_code == 200
        assert stranger.get("/v1/session").json() == {"signed_in": False, "auth": "writes"}
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)
        stored = stranger.post("/v1/feedback", headers=BEARER, **form)
        assert stored.status_code == 201 and stored.json()["label"] == 7


def test_the_page_signs_in_once_for_a_session_cookie(test_set: Any, tmp_path: Path) -> None:
    app = create_app(ServeSettings(feedback_db=tmp_path / "feedback.db", backend="torch"))
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}, "data": {"label": "3"}}
    with local_client(app, token=False) as page:
        assert_problem(page.post("/v1/session", json={"token": "guess-0123456789"}), 401, "not")
        evil = page.post(
            "/v1/session", json={"token": TOKEN}, headers={"origin": "http://evil.example"}
        )
        assert_problem(evil, 403, "another site")  # no signing in from another site's page
        signed = page.post("/v1/session", json={"token": TOKEN})
        assert signed.status_code == 204
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert TOKEN not in cookie  # an HMAC of it, good for this server's session only
        assert page.get("/v1/session").json()["signed_in"] is True
        assert page.post("/v1/feedback", **form).status_code == 201  # the cookie is enough
        assert page.delete("/v1/session").status_code == 204
        assert_problem(page.post("/v1/feedback", **form), 401, "API token")
        for _ in range(12):  # guessing is slow too: 10 tries at once, then one a second
            last = page.post("/v1/session", json={"token": "guess-0123456789"})
        assert_problem(last, 429, "sign-in attempts")


def test_auth_all_guards_reading_and_the_documents(test_set: Any, tmp_path: Path) -> None:
    settings = ServeSettings(feedback_db=tmp_path / "feedback.db", backend="torch", auth="all")
    files = {"files": {"file": ("x.png", scan(test_set.images[0]))}}
    with local_client(create_app(settings), token=False) as stranger:
        assert_problem(stranger.post("/v1/predict", **files), 401, "API token")
        for path in ("/v1/models", "/openapi.json", "/docs"):
            assert stranger.get(path).status_code == 401, path
        assert stranger.get("/healthz").status_code == 200  # probes and the page stay open,
        assert stranger.get("/").status_code == 200  # so that its user can sign in
        assert stranger.get("/v1/session").json() == {"signed_in": False, "auth": "all"}
        assert stranger.post("/v1/predict", headers=BEARER, **files).status_code == 200
        document = stranger.get("/openapi.json", headers=BEARER).json()
        assert "401" in document["paths"]["/v1/predict"]["post"]["responses"]


def test_token_files_are_checked_and_homes_that_cannot_keep_one_refuse_everyone(
    test_set: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digitrec.errors import UsageError
    from digitrec.serve.auth import load_auth

    monkeypatch.delenv("DIGITREC_SERVE_TOKEN")
    short = tmp_path / "short"
    short.write_text("abc\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, words in ((short, "at least 16"), (fifo, "not a regular file"), (tmp_path, "dir")):
        with pytest.raises(UsageError, match=words):
            load_auth(ServeSettings(auth_token_file=path))
    good = tmp_path / "token"
    good.write_text("  a-token-from-a-file-0123  \n")
    assert load_auth(ServeSettings(auth_token_file=good)).token == "a-token-from-a-file-0123"
    monkeypatch.setenv("DIGITREC_HOME", str(tmp_path / "home"))
    kept = [load_auth(ServeSettings()) for _ in range(2)]  # generated once, then kept
    assert kept[0].token == kept[1].token and kept[0].where == str(tmp_path / "home/serve-token")
    special = tmp_path / "special"
    special.mkdir()
    os.mkfifo(special / "serve-token")  # read, it would hang: refused, and no one gets in
    monkeypatch.setenv("DIGITREC_HOME", str(special))
    assert "not a regular file" in load_auth(ServeSettings()).problem
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the home should be")
    monkeypatch.setenv("DIGITREC_HOME", str(blocker))
    settings = ServeSettings(feedback_db=tmp_path / "feedback.db", backend="torch")
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}}
    with local_client(create_app(settings), token=False) as served:
        assert served.post("/v1/predict", **form).status_code == 200
        refused = served.post("/v1/feedback", data={"label": "7"}, **form)
        assert_problem(refused, 401, "no API token could be kept")


def test_each_client_is_rate_limited(test_set: Any, tmp_path: Path) -> None:
    """A token bucket per client address: the burst passes, then 429 with Retry-After (nothing
    stored), and the bucket refills at the rate."""
    settings = ServeSettings(
        feedback_db=tmp_path / "feedback.db", feedback_rate=2, feedback_burst=3,
        inference_rate=1, inference_burst=2, backend="torch",
    )  # fmt: skip
    form = {"files": {"file": ("x.png", scan(test_set.images[0]))}}
    with local_client(create_app(settings), raise_server_exceptions=False) as served:
        stored = [served.post("/v1/feedback", data={"label": str(k)}, **form) for k in range(4)]
        assert [r.status_code for r in stored] == [201, 201, 201, 429]
        assert_problem(stored[3], 429, "too many corrections")
        assert stored[3].headers["retry-after"] == "1"
        with sqlite3.connect(tmp_path / "feedback.db") as db:
            assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (3,)
        reads = [served.post("/v1/predict", **form).status_code for _ in range(3)]
        assert reads == [200, 200, 429]
        batch = {"files": [("files", ("x.png", scan(test_set.images[0])))] * 3}
        time.sleep(2.1)  # the bucket full again (2 tokens): a batch of 3 costs the whole burst
        assert served.post("/v1/predict/batch", **batch).status_code == 200
        assert_problem(served.post("/v1/read", **form), 429, "inference")
        assert served.get("/healthz").status_code == 200  # not rate limited


def test_security_headers(client: TestClient) -> None:
    page, docs, script = client.get("/"), client.get("/docs"), client.get("/static/app.js")
    for response in (page, docs, script, client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        # not no-referrer: under it browsers send `Origin: null` with the page's own POSTs
        assert response.headers["referrer-policy"] == "same-origin"
    for html in (page, docs):
        policy = html.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
    (script_body,) = inline_scripts(docs.text)  # Swagger UI's one inline script, by its hash
    digest = base64.b64encode(hashlib.sha256(script_body.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in docs.headers["content-security-policy"]
    assert script.headers["cache-control"] == "no-cache" and script.headers["etag"]


def test_answers_and_files_are_gzipped_when_asked(client: TestClient, test_set: Any) -> None:
    """The page's script and a large answer (/v1/explain's images) go compressed to a client that
    accepts gzip, and plain to one that does not; small answers are not worth it."""
    gzip, plain = {"accept-encoding": "gzip"}, {"accept-encoding": "identity"}
    script = client.get("/static/app.js", headers=gzip)
    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < 0.5 * len(script.content)  # content: inflated
    assert "content-encoding" not in client.get("/static/app.js", headers=plain).headers
    form = {"files": {"file": ("d.png", scan(test_set.images[0]))}}
    explained = client.post("/v1/explain", headers=gzip, **form)
    assert explained.status_code == 200 and explained.headers["content-encoding"] == "gzip"
    assert explained.json()["digit"] == int(test_set.labels[0])
    health = client.get("/healthz", headers=gzip)
    assert "content-encoding" not in health.headers  # under GZIP_MIN_BYTES


def test_slow_work_runs_off_the_event_loop_with_timeout_and_queue_limit(
    test_set: Any, feedback_db: Path
) -> None:
    page = png(line_page(np.concatenate([test_set.images[:20]] * 4)))  # a long number: slow
    settings = ServeSettings(feedback_db=feedback_db, inference_threads=1, queue_max=1)
    with local_client(create_app(settings), raise_server_exceptions=False) as busy:
        order: list[str] = []
        statuses: list[int] = []

        def slow_read() -> None:
            statuses.append(busy.post("/v1/read", files={"file": ("n.png", page)}).status_code)
            order.append("read")

        reader = threading.Thread(target=slow_read)
        reader.start()
        while "digitrec_inference_waiting 1.0" not in busy.get("/metrics").text:
            assert reader.is_alive(), "the read ended before it was seen on the pool"
            time.sleep(0.005)
        # The event loop still answers while the pool works, and a second inference is refused.
        assert busy.get("/healthz").status_code == 200
        order.append("healthz")
        assert reader.is_alive(), "the slow read must still be running for the 503 check"
        second = busy.post("/v1/predict", files={"file": ("d.png", scan(test_set.images[0]))})
        assert_problem(second, 503, "busy")
        assert second.headers["retry-after"] == "1"
        reader.join(timeout=120)
        assert statuses == [200] and order[0] == "healthz"
        assert "digitrec_inference_waiting 0.0" in busy.get("/metrics").text  # all released

    hurried = ServeSettings(feedback_db=feedback_db, timeout_s=0.001)
    with local_client(create_app(hurried), raise_server_exceptions=False) as late:
        assert_problem(
            late.post("/v1/read", files={"file": ("n.png", page)}), 504, "no answer within"
        )
        # The timed-out read leaves the queue when it really ends (not never).
        deadline = time.monotonic() + 60
        while "digitrec_inference_waiting 0.0" not in (text := late.get("/metrics").text):
            assert time.monotonic() < deadline, text
            time.sleep(0.05)


def test_serve_command_refuses_bad_settings_in_one_line(tmp_path: Path) -> None:
    for args, words in [
        (["--model", str(tmp_path / "none")], "no model at"),
        (["--threshold", "2"], "--threshold"),
        (["--port", "0"], "--port"),
        (["--timeout-s", "-1"], "--timeout-s"),
    ]:
        done = subprocess.run(
            [str(DIGITREC), "serve", *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_docs_and_page_need_no_network(client: TestClient) -> None:
    """Every asset of /docs and / is served by the app itself (the machine may be offline)."""
    for page in ("/docs", "/"):
        html = client.get(page).text
        links = re.findall(r'(?:src|href)="([^"#]+)"', html)
        assert links, page
        for link in links:
            assert link.startswith("/"), f"{page} loads {link} from elsewhere"
            assert client.get(link).status_code == 200, link


def test_more_bad_requests(client: TestClient, test_set: Any) -> None:
    data = scan(test_set.images[0])
    ten = [("files", (f"{i}.png", data)) for i in range(10)]  # batch_max is 8
    assert_problem(client.post("/v1/predict/batch", files=ten), 413, "too many images")
    assert_problem(client.post("/v1/predict", files=ten[:2]), 413, "too many images")
    deep = b'{"image": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_problem(
        client.post("/v1/predict", content=deep, headers={"content-type": "application/json"}),
        400,
        "not valid JSON",
    )
    assert_problem(
        client.post("/v1/explain?format=gif", files={"file": ("d.png", data)}), 422, "format"
    )
    for label in ("²", "٣", "3.0", " 10", "true"):
        response = client.post(
            "/v1/feedback", files={"file": ("d.png", data)}, data={"label": label}
        )
        assert_problem(response, 422, "label")
    assert_problem(
        client.post("/v1/feedback", json={"image": base64.b64encode(data).decode(), "label": True}),
        422,
        "label",
    )
    blank = png(np.full((60, 60), 255, np.uint8))
    response = client.post("/v1/feedback", files={"file": ("b.png", blank)}, data={"label": "1"})
    assert_problem(response, 422, "no digit")
    response = client.post("/v1/feedback", files={"file": ("b.png", b"junk")}, data={"label": "1"})
    assert_problem(response, 415, "not a readable image")


def test_multipart_upload_over_the_limit_is_cut_off_while_streamed(feedback_db: Path) -> None:
    app = create_app(ServeSettings(feedback_db=feedback_db, max_body_bytes=4096))
    boundary = "digitrecboundary"

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        for _ in range(20):
            yield bytes(1000)
        yield f"\r\n--{boundary}--\r\n".encode()

    with local_client(app, raise_server_exceptions=False) as small:
        kind = f"multipart/form-data; boundary={boundary}"
        response = small.post("/v1/predict", content=body(), headers={"content-type": kind})
        assert_problem(response, 413, "limit")
        assert response.headers["connection"] == "close"


def test_feedback_store_limits_and_failures_are_problems(test_set: Any, tmp_path: Path) -> None:
    data = scan(test_set.images[0])
    database = tmp_path / "feedback.db"
    app = create_app(ServeSettings(feedback_db=database, feedback_max_rows=1))
    with local_client(app, raise_server_exceptions=False) as one:
        first = one.post("/v1/feedback", files={"file": ("d.png", data)}, data={"label": "7"})
        assert first.status_code == 201
        assert_problem(
            one.post("/v1/feedback", files={"file": ("d.png", data)}, data={"label": "1"}),
            507,
            "full",
        )
        database.unlink()
        database.mkdir()  # the database is gone and cannot be made again: the store is down
        broken = one.post("/v1/feedback", files={"file": ("d.png", data)}, data={"label": "7"})
        assert_problem(broken, 503, "could not be stored")
        assert "sqlite" not in broken.text.lower() and str(tmp_path) not in broken.text

    out = tmp_path / "out.txt"
    out.write_text("a file, not a folder")
    other = tmp_path / "other.db"
    other.write_bytes(b"SQLite format 3\0" + bytes(200))
    for args, code, words in [
        ([str(out), "--db", str(tmp_path / "f2.db")], 1, "no feedback database"),
        ([str(tmp_path / "o"), "--db", str(other)], 1, "not a readable feedback database"),
    ]:
        done = subprocess.run(
            [str(DIGITREC), "feedback", "export", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == code and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_explain_needs_network_weights(test_set: Any, feedback_db: Path, home: Path) -> None:
    """Served through ONNX Runtime from an exported file, there are no torch weights to explain:
    501, without the server's paths; predictions still work."""
    onnx = home / "student.onnx"
    export_onnx(resolve_model_path("student"), onnx)
    settings = ServeSettings(feedback_db=feedback_db, model=str(onnx), backend="onnx")
    with local_client(create_app(settings), raise_server_exceptions=False) as served:
        data = scan(test_set.images[0])
        assert served.get("/healthz").json()["model"] == "student"
        answer = served.post("/v1/predict", files={"file": ("d.png", data)}).json()
        assert answer["digit"] == int(test_set.labels[0]) and answer["model"] == "student"
        refused = served.post("/v1/explain", files={"file": ("d.png", data)})
        assert_problem(refused, 501, "network")
        assert str(home) not in refused.text


def test_the_default_model_on_onnx_runtime_still_explains(test_set: Any, feedback_db: Path) -> None:
    """Served through ONNX Runtime (what --backend auto picks where it is faster), the packaged
    model's torch weights are loaded for saliency on the first /v1/explain: the same digit."""
    settings = ServeSettings(feedback_db=feedback_db, backend="onnx")
    with local_client(create_app(settings), raise_server_exceptions=False) as served:
        assert served.get("/v1/models").json()["loaded"]["backend"] == "onnx"
        for image, label in zip(test_set.images[:3], test_set.labels[:3], strict=True):
            data = scan(image)
            answer = served.post("/v1/predict", files={"file": ("d.png", data)}).json()
            explained = served.post("/v1/explain", files={"file": ("d.png", data)})
            assert explained.status_code == 200, explained.text
            assert answer["digit"] == explained.json()["digit"] == int(label)


def test_real_server_closes_slow_and_oversized_uploads(tmp_path: Path) -> None:
    """Through uvicorn itself: a body trickling in past the body deadline gets 408, a declared
    body over the limit gets 413 at once, and either way the server closes the connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DIGITREC_HOME": str(tmp_path),
        "DIGITREC_SERVE_BODY_TIMEOUT_S": "1",
        "DIGITREC_SERVE_MAX_BODY_BYTES": "100000",
    }
    server = subprocess.Popen(
        [str(DIGITREC), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "the server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

        def exchange(head: bytes, body: bytes) -> tuple[bytes, bool]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(head + body)
                received = b""
                while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
                    chunk = connection.recv(65536)
                    if not chunk:
                        return received, True
                    received += chunk
                connection.settimeout(3)
                try:
                    closed = connection.recv(1) == b""
                except TimeoutError:
                    closed = False
                return received, closed

        slow, closed = exchange(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 5000\r\n\r\n",
            b"\x89PNG",  # ... and nothing more
        )
        assert slow.startswith(b"HTTP/1.1 408") and b"within 1 s" in slow and closed
        big, closed = exchange(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 5000000\r\n\r\n",
            bytes(65536),
        )
        assert big.startswith(b"HTTP/1.1 413") and closed
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_environment_settings_are_named_in_errors(tmp_path: Path) -> None:
    env = {**os.environ, "DIGITREC_SERVE_QUEUE_MAX": "0"}
    done = subprocess.run(
        [str(DIGITREC), "serve"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 2 and "DIGITREC_SERVE_QUEUE_MAX" in done.stderr
    env = {**os.environ, "DIGITREC_SERVE_MODEL": str(tmp_path / "missing")}
    done = subprocess.run(
        [str(DIGITREC), "serve"], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 2 and "missing" in done.stderr  # the environment's model is used


def test_a_wrong_method_names_every_method_of_the_path(client: TestClient) -> None:
    """/v1/session has a route per method: `Allow` lists all of them, not the first's alone."""
    refused = client.put("/v1/session")
    assert_problem(refused, 405, "Method Not Allowed")
    assert refused.headers["allow"] == "DELETE, GET, POST"
    assert client.put("/v1/feedback").headers["allow"] == "DELETE, GET, POST"
    assert client.post("/v1/feedback/1").headers["allow"] == "DELETE, PATCH"

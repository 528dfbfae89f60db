"""A real `digitrec serve` (one process, sockets on 127.0.0.1) under clients that spend its
connections or break the rules of a request's head, and clients without its API token.

Bounded: the server's head timeout is 1 s and its connection limit 12 here, so each test takes a
few seconds at most."""

import http.client
import json
import select
import socket
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from servers import healthy, running_server

HEAD_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 12


def _stroke_png() -> bytes:
    import cv2
    import numpy as np

    page = np.full((112, 112), 255, np.uint8)
    page[16:96, 52:60] = 0  # a drawn "1"
    return cv2.imencode(".png", page)[1].tobytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("hostile-home")
    limits = {
        "DIGITREC_SERVE_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S),
        "DIGITREC_SERVE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "DIGITREC_SERVE_FEEDBACK_DB": str(home / "feedback.db"),
    }
    flags = ("--backend", "torch", "--log-level", "warning")
    with running_server(home, *flags, env=limits) as running:
        yield running


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=HEAD_TIMEOUT_S + 4)


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_sockets_that_send_nothing_are_closed_and_cannot_lock_others_out(server: dict) -> None:
    port = server["port"]
    idle = [connect(port) for _ in range(3 * MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # all accepted: the limit is reached by clients that say nothing
        assert all(healthy(port) for _ in range(3))  # idle ones make room for a real request
        started = time.monotonic()
        for sock in idle:
            answer = until_closed(sock)  # closed to make room (nothing sent) or timed out (408)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert time.monotonic() - started < HEAD_TIMEOUT_S + 2
    finally:
        for sock in idle:
            sock.close()


def test_a_head_that_trickles_in_is_cut_off(server: dict) -> None:
    """Slowloris: the request line, then one header line every 0.2 s, never the blank line."""
    with connect(server["port"]) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while time.monotonic() - started < HEAD_TIMEOUT_S + 3:
            if select.select([sock], [], [], 0.2)[0]:
                break  # the server answered (and closed)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"application/problem+json" in answer and b"the request head took over" in answer
    assert time.monotonic() - started < HEAD_TIMEOUT_S + 1.5


@pytest.mark.parametrize(
    "head",
    [
        b"".join(b"X-Header-%d: v\r\n" % i for i in range(200)) + b"\r\n",  # 200 headers
        b"X-Huge: " + b"a" * 70_000,  # one header over 64 KiB, its end never sent
    ],
    ids=["200-headers", "70-KB-header"],
)
def test_heads_too_big_get_431_and_are_not_read_further(server: dict, head: bytes) -> None:
    with connect(server["port"]) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head)
        answer = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["status"] == 431 and body["title"] == "Request Header Fields Too Large"


def test_big_bodies_and_kept_connections_still_work(server: dict) -> None:
    """The head's limits are the head's: a 300 KB upload after a small head is read, and a
    kept-alive connection serves a second request after the first."""
    import cv2
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 256, (400, 800), dtype=np.uint8)
    big = cv2.imencode(".png", noise)[1].tobytes()
    assert len(big) > 300_000
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    try:
        connection.request("POST", "/v1/predict", body=big, headers={"Content-Type": "image/png"})
        first = connection.getresponse()
        first.read()
        assert first.status < 500 and first.status != 431, first.status  # read, not refused
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        assert second.status == 200 and json.loads(second.read())["status"] == "ok"
    finally:
        connection.close()


def post_feedback(port: int, headers: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
    body = json.dumps({"image": _data_url(), "label": 1}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/feedback",
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), error.headers


def _data_url() -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(_stroke_png()).decode()


def test_the_generated_token_guards_corrections_and_is_never_printed(server: dict) -> None:
    port, home = server["port"], server["home"]
    token_file = home / "serve-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    log = (home / "serve.log").read_text()
    assert str(token_file) in log and token not in log
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all"}, {"Authorization": token}):
        status, problem, answer_headers = post_feedback(port, headers)
        assert status == 401 and problem["status"] == 401, (headers, problem)
        assert answer_headers["WWW-Authenticate"].startswith("Bearer")
        assert token not in json.dumps(problem)
    status, record, _ = post_feedback(port, {"Authorization": f"Bearer {token}"})
    assert status == 201 and record["label"] == 1
    # reading digits stays open (auth "writes"); the metrics reveal stored counts: not open
    predict = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict",
        data=_stroke_png(),
        headers={"Content-Type": "image/png"},
    )
    with urllib.request.urlopen(predict, timeout=30) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
    refused.value.close()
    assert refused.value.code == 401

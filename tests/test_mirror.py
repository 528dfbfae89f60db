"""The HTTPS-mirror path of acquisition, against a real HTTP server on 127.0.0.1 serving good,
cut-off, corrupt and wrong files (a handful of requests, each bounded by the client's timeout)."""

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digitrec.data.acquire import HttpsMirror
from digitrec.data.mnist import TEST_LABELS
from digitrec.errors import ChecksumError

# path -> (body, Content-Length to announce)
ROUTES: dict[str, tuple[bytes, int]] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in ROUTES:
            self.send_error(404)
            return
        body, length = ROUTES[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def labels_gz(mnist_dir: Path) -> bytes:
    return gzip.compress((mnist_dir / TEST_LABELS.name).read_bytes())


def serve(folder: str, body: bytes, length: int | None = None) -> None:
    ROUTES[f"/{folder}/{TEST_LABELS.name}.gz"] = (body, len(body) if length is None else length)


def test_good_download(server: str, tmp_path: Path, labels_gz: bytes) -> None:
    serve("good", labels_gz)
    assert HttpsMirror(f"{server}/good/", gzipped=True).fetch([TEST_LABELS], tmp_path) == {}
    assert (tmp_path / TEST_LABELS.name).stat().st_size == 10_008


@pytest.mark.parametrize(
    ("body_cut", "announced_extra", "reason"),
    [
        (2000, 0, "corrupt gzip stream|truncated gzip stream"),  # cut, but the length agrees
        (0, 500, "received"),  # the connection closed before the announced length
    ],
)
def test_bad_downloads_leave_nothing_and_let_the_next_source_try(
    server: str, tmp_path: Path, labels_gz: bytes, body_cut: int, announced_extra: int, reason: str
) -> None:
    body = labels_gz[: len(labels_gz) - body_cut] if body_cut else labels_gz
    serve("bad", body, len(body) + announced_extra)
    problems = HttpsMirror(f"{server}/bad/", gzipped=True).fetch([TEST_LABELS], tmp_path)
    assert set(problems) == {TEST_LABELS.name}
    assert "download failed" in problems[TEST_LABELS.name]
    assert any(word in problems[TEST_LABELS.name] for word in reason.split("|"))
    assert list(tmp_path.iterdir()) == []


def test_complete_but_wrong_file_is_a_checksum_error(server: str, tmp_path: Path) -> None:
    serve("wrong", gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    with pytest.raises(ChecksumError, match=f"{TEST_LABELS.name} from http://127.0.0.1"):
        HttpsMirror(f"{server}/wrong/", gzipped=True).fetch([TEST_LABELS], tmp_path)


def test_missing_file_is_reported(server: str, tmp_path: Path) -> None:
    problems = HttpsMirror(f"{server}/nothing/", gzipped=True).fetch([TEST_LABELS], tmp_path)
    assert "Not Found" in problems[TEST_LABELS.name]

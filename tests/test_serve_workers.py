"""`digitrec serve --workers N` as a real process tree: each worker holds its own share of the
connections (SO_REUSEPORT), a port in use is a one-line error, and SIGTERM stops every worker."""

import contextlib
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, healthy, running_server, serve

from digitrec.serve.workers import reuse_port_available

pytestmark = pytest.mark.skipif(not reuse_port_available(), reason="SO_REUSEPORT is Linux's")


def _stroke_png() -> bytes:
    import cv2
    import numpy as np

    page = np.full((112, 112), 255, np.uint8)
    page[16:96, 52:60] = 0  # a drawn "1"
    return cv2.imencode(".png", page)[1].tobytes()


PNG_OF_A_STROKE = _stroke_png()


def two_worker_server(home: Path) -> contextlib.AbstractContextManager[dict[str, Any]]:
    """`digitrec serve --workers 2` on a free port, healthy; stopped (SIGTERM) at the end."""
    return running_server(home, "--workers", "2", "--backend", "torch", "--log-level", "warning")


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with two_worker_server(tmp_path_factory.mktemp("workers-home")) as server:
        yield server


def workers_of(pid: int) -> list[int]:
    """The worker processes of a server (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def connections_by_process(port: int, pids: list[int]) -> Counter[int]:
    """How many ESTABLISHED TCP connections to local `port` each process holds (from /proc)."""
    inodes = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes[fields[9]] = True
    held: Counter[int] = Counter()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with_inode = (
                re.fullmatch(r"socket:\[(\d+)\]", str(fd.readlink())) if fd.exists() else None
            )
            if with_inode and with_inode.group(1) in inodes:
                held[pid] += 1
    return held


def test_each_worker_serves_its_share_of_keep_alive_connections(two_workers: dict) -> None:
    port, process = two_workers["port"], two_workers["process"]
    workers = workers_of(process.pid)
    assert len(workers) == 2
    clients = []
    try:
        for _ in range(32):  # keep-alive connections opened at once, as a load test's clients
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            clients.append(client)
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        held = connections_by_process(port, workers)
    finally:
        for client in clients:
            client.close()
    assert sum(held.values()) == 32
    # Hashed over two sockets, a worker gets fewer than 4 of 32 with probability ~1e-5. With
    # uvicorn's shared socket (serve_commands.py as of commit 32b47cf) this failed in two runs of
    # three, all 32 connections on one worker.
    assert all(held[pid] >= 4 for pid in workers), held


def test_metrics_count_the_requests_of_every_worker(two_workers: dict) -> None:
    """Each request on a new connection (hashed to either worker); every scrape, whichever worker
    answers it, counts them all. Per-worker counters would show a share that changes per scrape."""
    port = two_workers["port"]
    token = (two_workers["home"] / "serve-token").read_text().strip()  # generated at start-up
    scrape = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )

    def predicted() -> float:
        with urllib.request.urlopen(scrape, timeout=10) as response:
            text = response.read().decode()
        found = re.search(
            r'^digitrec_requests_total\{method="POST",route="/v1/predict",status="200"\} (\S+)$',
            text,
            re.MULTILINE,
        )
        return float(found.group(1)) if found else 0.0

    before = predicted()
    for _ in range(40):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/predict",
            data=PNG_OF_A_STROKE,
            headers={"Content-Type": "image/png"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    assert [predicted() for _ in range(8)] == [before + 40] * 8


def test_a_port_in_use_is_a_one_line_error(two_workers: dict, tmp_path: Path) -> None:
    for flags in (["--workers", "2"], []):
        done = serve(two_workers["port"], tmp_path, *flags)
        assert done.wait(60) == 2
        output = (tmp_path / "serve.log").read_text()
        assert output.strip().splitlines() == [
            f"digitrec: error: cannot listen on 127.0.0.1:{two_workers['port']}: "
            "Address already in use"
        ]


def test_sigterm_stops_every_worker(two_workers: dict) -> None:
    process = two_workers["process"]
    workers = workers_of(process.pid)
    environment = Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
    (metrics_dir,) = [
        Path(v.partition(b"=")[2].decode())
        for v in environment
        if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
    ]
    assert metrics_dir.is_dir()
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert not any(alive(pid) for pid in workers)
    assert not metrics_dir.exists()  # the workers' metrics files are cleaned up


def test_workers_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no chance to stop its workers: the kernel does (no orphan
    keeps serving on, or holding, the port)."""
    with two_worker_server(tmp_path) as server:
        workers = workers_of(server["process"].pid)
        server["process"].kill()
        server["process"].wait(30)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not any(alive(pid) for pid in workers)
        assert not healthy(server["port"])


def alive(pid: int) -> bool:
    """Running, not exited (an exited child of a dead parent is reaped by init)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_ctrl_c_stops_every_worker_without_a_traceback(tmp_path: Path) -> None:
    with two_worker_server(tmp_path) as server:
        process = server["process"]
        workers = workers_of(process.pid)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert process.wait(60) == 0
        assert not any(alive(pid) for pid in workers)
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    assert f"http://127.0.0.1:{server['port']} (2 workers)" in log


def test_a_model_that_cannot_load_is_one_line_and_no_restarts(tmp_path: Path) -> None:
    """Random bytes named .onnx, a truncated .safetensors: one `digitrec: error:` line, exit 1,
    with one worker or two (before, a 26-line traceback; with two workers 169 lines and six
    restarts)."""
    from digitrec.models.modelfile import PACKAGED

    broken = tmp_path / "random.onnx"
    broken.write_bytes(os.urandom(3000))
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes((PACKAGED / "default.safetensors").read_bytes()[:500_000])
    (tmp_path / "cut.json").write_bytes((PACKAGED / "default.json").read_bytes())
    for model in (broken, truncated):
        for workers in ("1", "2"):
            done = serve(free_port(), tmp_path, "--model", str(model), "--workers", workers)
            assert done.wait(60) == 1
            lines = (tmp_path / "serve.log").read_text().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"digitrec: error: {model}: not a")

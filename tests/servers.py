"""`digitrec serve` as a real process for tests: a free port, the server started in its own
process group with its output in home/serve.log, and its health."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

START_S = 120  # the models load before a server answers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(
    port: int, home: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`digitrec serve` with its output in home/serve.log, in a process group of its own (as a
    shell runs it: Ctrl-C reaches every process of the group); `env` adds variables."""
    env = {**os.environ, "DIGITREC_HOME": str(home), "DIGITREC_OFFLINE": "1", **(env or {})}
    command = [sys.executable, "-m", "digitrec", "serve", "--port", str(port), *flags]
    with (home / "serve.log").open("wb") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def running_server(
    home: Path, *flags: str, env: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """`digitrec serve FLAGS` on a free port, healthy (or the test fails with its log); stopped
    with SIGTERM at the end (SIGKILL if it does not stop within a minute)."""
    port = free_port()
    process = serve(port, home, *flags, env=env)
    try:
        deadline = time.monotonic() + START_S
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                output = (home / "serve.log").read_text(errors="replace")
                pytest.fail(f"digitrec serve {' '.join(flags)} did not start:\n{output}")
            time.sleep(0.25)
        yield {"port": port, "process": process, "home": home}
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)

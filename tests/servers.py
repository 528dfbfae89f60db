"""`digitrec serve` as a real process for tests: a free port, the server started in its own
process group with its output in home/serve.log, and its health."""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path


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

"""Faults under load, on a real `digitrec serve --workers 2` on 127.0.0.1: what a kill -9 costs.

1. **A worker killed under load.** CLIENTS threads send `POST /v1/predict` (a real MNIST digit)
   over keep-alive connections, reconnecting after an error, for SECONDS; a third of the way in,
   one worker gets SIGKILL. Counted: requests answered, requests failed (a connection reset, no
   answer, a 5xx), and the time until the supervisor's replacement listens on the port and
   until it has loaded its models and answers.
2. **The whole server killed during corrections.** CLIENTS threads post corrections
   (`POST /v1/feedback`, with the token) as fast as they are answered; a third of the way in, the
   server's whole process group gets SIGKILL. Then the store is opened: every correction that was
   acknowledged (201, with its id) must be there (`lost` = 0), and SQLite's integrity_check must
   say ok. Stored may exceed acknowledged: a row committed whose answer died with the server.
   The per-client correction rate limit is off for this run (all clients share one address).

    python benchmarks/serve_faults.py [--clients 16] [--seconds 6] [--quick] [--out benchmarks/results]
"""

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitrec.data import load
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_json

TOKEN = "serve-faults-token-7c41e2"
START_S = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 clients, 3 s each")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 4, 3.0
    digit = load("mnist", "test").images[0]
    png = cv2.imencode(".png", cv2.resize(255 - digit, (112, 112)))[1].tobytes()
    with tempfile.TemporaryDirectory(prefix="serve-faults-") as scratch:
        home = Path(scratch)
        worker = worker_killed(home / "a", png, args.clients, args.seconds)
        print("worker killed under load:", json.dumps(worker), flush=True)
        server = server_killed(home / "b", png, args.clients, args.seconds)
        print("server killed during corrections:", json.dumps(server), flush=True)
    report = {
        "what": "kill -9 of a worker under load, and of the whole server during corrections",
        "clients": args.clients,
        "seconds": args.seconds,
        "worker_killed": worker,
        "server_killed": server,
        "provenance": provenance(),
    }
    atomic_write_json(args.out / "serve_faults.json", report)
    return 0 if server["lost"] == 0 and server["integrity"] == "ok" else 1


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    home.mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "DIGITREC_HOME": str(home),
        "DIGITREC_OFFLINE": "1",
        "DIGITREC_SERVE_TOKEN": TOKEN,
        "DIGITREC_SERVE_FEEDBACK_RATE": "0",
    }
    command = [sys.executable, "-m", "digitrec", "serve", "--port", str(port), "--workers", "2"]
    command += ["--backend", "torch", "--log-level", "info"]  # info: each worker says it is up
    with (home / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_S
    while workers_up(home) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"digitrec serve did not start:\n{(home / 'serve.log').read_text()}")
        time.sleep(0.1)
    return process, port


def workers_up(home: Path) -> int:
    """How many worker processes have finished starting (models loaded), from uvicorn's log."""
    return (home / "serve.log").read_text(errors="replace").count("Application startup complete")


def listening_pids(port: int, supervisor: int) -> list[int]:
    """The supervisor's children that hold a listening socket on `port` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return []
    found = []
    for child in map(int, children):
        try:
            if any(str(fd.readlink()) in inodes for fd in Path(f"/proc/{child}/fd").iterdir()):
                found.append(child)
        except OSError:
            continue
    return found


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


Body = Callable[[int], bytes]  # the n-th request's body


def hammer(port: int, path: str, body: Body, headers: dict[str, str], until: float) -> dict:
    """One client: requests back to back on a kept connection until `until` (monotonic);
    the statuses and the ids of acknowledged corrections."""
    done: dict[str, Any] = {"ok": 0, "failed": 0, "refused": 0, "ids": []}
    connection = None
    sent = 0
    while time.monotonic() < until:
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            sent += 1
            connection.request("POST", path, body=body(sent), headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status >= 500:
                done["failed"] += 1
            elif response.status in (200, 201):
                done["ok"] += 1
                if response.status == 201:
                    done["ids"].append(json.loads(answer)["id"])
            else:  # a 4xx: the benchmark's own mistake, counted apart (and must stay 0)
                done["refused"] += 1
        except (OSError, http.client.HTTPException):
            done["failed"] += 1
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.01)
    if connection is not None:
        connection.close()
    return done


def run_clients(
    port: int,
    path: str,
    body: Callable[[int, int], bytes],
    headers: dict[str, str],
    clients: int,
    seconds: float,
) -> tuple[list[dict], list[threading.Thread]]:
    """`clients` threads hammering `path`; `body(client, n)` is a client's n-th request body."""
    until = time.monotonic() + seconds
    results: list[dict] = [{} for _ in range(clients)]

    def client(index: int) -> None:
        results[index] = hammer(port, path, lambda n: body(index, n), headers, until)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    return results, threads


def worker_killed(home: Path, png: bytes, clients: int, seconds: float) -> dict[str, Any]:
    process, port = start_server(home)
    try:
        headers = {"Content-Type": "image/png"}
        results, threads = run_clients(
            port, "/v1/predict", lambda _c, _n: png, headers, clients, seconds
        )
        time.sleep(seconds / 3)
        victim = listening_pids(port, process.pid)[0]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        listening = ready = None
        while time.monotonic() < killed + START_S and ready is None:
            pids = listening_pids(port, process.pid)
            if listening is None and len(pids) == 2 and victim not in pids:
                listening = time.monotonic() - killed
            if workers_up(home) >= 3:
                ready = time.monotonic() - killed
            time.sleep(0.02)
        for thread in threads:
            thread.join()
        return {
            "requests_answered": sum(r["ok"] for r in results),
            "requests_failed": sum(r["failed"] for r in results),
            "requests_refused": sum(r["refused"] for r in results),
            # the replacement's socket takes connections (they wait in its queue) at once; it
            # answers them once its models are loaded
            "replacement_listening_s": None if listening is None else round(listening, 3),
            "replacement_ready_s": None if ready is None else round(ready, 3),
        }
    finally:
        stop(process)


def server_killed(home: Path, png: bytes, clients: int, seconds: float) -> dict[str, Any]:
    process, port = start_server(home)
    digit = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)

    def correction(client: int, n: int) -> bytes:
        """Each request a correction of its own: the same digit with a corner pixel or two
        changed (the store keeps one row per image and label)."""
        image = digit.copy()
        image[0, :3] = [client, n % 256, (n // 256) % 256]
        encoded = cv2.imencode(".png", image)[1].tobytes()
        return json.dumps({"image": base64.b64encode(encoded).decode(), "label": 7}).encode()

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    results, threads = run_clients(port, "/v1/feedback", correction, headers, clients, seconds)
    time.sleep(seconds / 3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    for thread in threads:
        thread.join()
    acknowledged = {i for r in results for i in r["ids"]}
    with sqlite3.connect(home / "feedback.db") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM feedback")}
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return {
        "acknowledged": len(acknowledged),
        "refused": sum(r["refused"] for r in results),
        "stored": len(stored),
        "lost": len(acknowledged - stored),
        "integrity": integrity,
    }


if __name__ == "__main__":
    sys.exit(main())

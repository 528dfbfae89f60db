"""`digitrec serve --workers N`: N server processes on one port, each with its own listening socket.

uvicorn's own workers share one socket, and every idle worker wakes for each new connection; the
first to run accepts it. Keep-alive clients that connect at once then often mostly land on one
worker, which serves them alone while the other idles (two workers served 267-721 req/s from run
to run in benchmarks/serve_load.py; tests/test_serve_workers.py checks the spread).
Here each worker binds its own socket with SO_REUSEPORT, and the kernel spreads connections over
the sockets by a hash of the client's address and port: independent of which worker is awake.

The parent only watches: it starts the workers, restarts one that dies (a few times a minute at
most), and on SIGINT or SIGTERM stops them all and waits for them. Where SO_REUSEPORT is missing
(not Linux), uvicorn's own workers are used instead. Either way the workers share a directory for
their metrics (`shared_metrics`), so /metrics counts the whole server.
"""

import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from digitrec.errors import UsageError

APP = "digitrec.serve.app:create_app"
RESTARTS_PER_MINUTE = 5  # more crashes than this: the workers cannot run here; stop and say so
STOP_SECONDS = 30.0  # a worker still running this long after SIGTERM is killed
USAGE_EXIT = 2  # a worker's exit status for a usage error (the CLI's): the supervisor stops
STARTUP_EXIT = 3  # a worker that never started serving (uvicorn's code): not restarted either
SUPERVISOR_ENV = "DIGITREC_SERVE_SUPERVISOR"  # a worker's supervisor's pid (reloads go through it)


def reuse_port_available() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A bound, listening TCP socket for host:port (IPv4 or IPv6, as the host resolves)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise UsageError(f"--host {host}: not an address here ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


@contextlib.contextmanager
def shared_metrics() -> Iterator[Path]:
    """A fresh directory in PROMETHEUS_MULTIPROC_DIR for the workers started inside this block
    (they inherit the environment), removed afterwards; one the user set is used as it is."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        yield Path(given)
        return
    directory = tempfile.mkdtemp(prefix="digitrec-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield Path(directory)
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(directory, ignore_errors=True)


def serve_workers(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run `workers` uvicorn servers of the app on host:port until stopped; the exit status.
    A port already in use is a UsageError before any worker starts."""
    # SO_REUSEPORT would let these sockets join another server's group on the same port: a
    # plain bind first says "address in use" when anything listens there already.
    listening_socket(host, port, reuse_port=False).close()
    context = multiprocessing.get_context("spawn")
    stopping = False
    processes: list[BaseProcess] = []

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port, options, os.getpid()))
        # born with SIGHUP ignored (kept across exec) until its app takes it: a reload while a
        # worker starts must not kill it
        hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGHUP, hup)
        return process

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    def reload(_signum: int, _frame: Any) -> None:  # SIGHUP: every worker switches models
        for process in processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reload)
    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # the workers inherit it
    crashes: list[float] = []
    status = 0
    metrics = contextlib.ExitStack()
    try:
        metrics_dir = metrics.enter_context(shared_metrics())
        processes += [start() for _ in range(workers)]
        where = f"[{host}]" if ":" in host else host
        print(f"digitrec serve: http://{where}:{port} ({workers} workers)", file=sys.stderr)
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                _forget_gauges(metrics_dir, process)
                if process.exitcode == USAGE_EXIT:  # said why in one line; a restart cannot help
                    status, stopping = USAGE_EXIT, True
                    break
                if process.exitcode == STARTUP_EXIT:  # nor for one that could not start at all
                    print(
                        f"digitrec serve: worker {process.pid} could not start (its log says "
                        "why); stopping",
                        file=sys.stderr,
                    )
                    status, stopping = 1, True
                    break
                now = time.monotonic()
                crashes = [t for t in crashes if now - t < 60] + [now]
                if len(crashes) > RESTARTS_PER_MINUTE:
                    print(
                        f"digitrec serve: workers exited {len(crashes)} times in a minute "
                        f"(last status {process.exitcode}); stopping",
                        file=sys.stderr,
                    )
                    status, stopping = 1, True
                    break
                print(
                    f"digitrec serve: worker {process.pid} exited with status "
                    f"{process.exitcode}; starting another",
                    file=sys.stderr,
                )
                processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests it has
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        metrics.close()
    return status


def _forget_gauges(metrics_dir: Path, worker: BaseProcess) -> None:
    """A dead worker's gauges (requests waiting) no longer count; its counters still do."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(metrics_dir))  # type: ignore[no-untyped-call]


def _worker(host: str, port: int, options: dict[str, Any], parent: int) -> None:
    """One server process: its own SO_REUSEPORT socket, then uvicorn until the supervisor's
    SIGTERM (Ctrl-C reaches the whole process group; only the supervisor acts on it)."""
    import uvicorn

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app takes it (app.py's lifespan)
    _stop_with_parent(parent)
    try:
        sock = listening_socket(host, port, reuse_port=True)
    except UsageError as error:
        print(f"digitrec: error: {error}", file=sys.stderr)
        sys.exit(USAGE_EXIT)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:  # the lifespan failed: uvicorn logged it and returned
        sys.exit(STARTUP_EXIT)


def _stop_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when the supervisor dies, even by SIGKILL, so
    no worker is left serving (and holding the port) on its own."""
    import ctypes

    pr_set_pdeathsig = 1
    if ctypes.CDLL(None).prctl(pr_set_pdeathsig, ctypes.c_ulong(signal.SIGTERM)) != 0:
        return  # not Linux after all: the supervisor's SIGTERM is the only stop
    if os.getppid() != parent:  # the supervisor died before the line above
        sys.exit(0)

"""The local engine: chunks of files read by a pool of worker processes (each loads the model
once, one torch thread each), at most two chunks a worker in flight, written in the inputs'
order. One worker reads in this process, the same work the pool's workers do. What every engine
shares: `Work`, `rows_of` (a chunk's rows), `skip_done` (resuming), `write_rows`, `Summary`."""

import itertools
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from digitrec.batch.results import Results
from digitrec.errors import DataError, DigitrecError


@dataclass(frozen=True)
class Work:
    """What each file goes through: `task` "read" (`reading.read_many`) or "predict"
    (`recognize.predict_many`), with the model, the reader and the pixel bound."""

    task: str
    model: str = "default"
    reader: str = "auto"  # read: the reader
    threshold: float | None = None  # predict: the rejection threshold (None: the library's)
    max_pixels: int = 0  # 0: the library's bound
    backend: str = "auto"  # the classifier's: chosen once by `prepared`, the same in every worker


@dataclass
class Summary:
    done: int = 0  # files read in this run
    skipped: int = 0  # files the results held already (a resumed run)
    failed: int = 0  # rows with an error (an unreadable file)
    rejected: int = 0  # rows with a reason: no digit found, or not sure enough
    seconds: float = 0.0  # the whole run, the model loading and a cluster's start included
    first: tuple[int, float] | None = None  # (rows, seconds) when the first chunk was written
    started: float = field(default_factory=time.perf_counter)

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.done += len(rows)
        self.failed += sum(1 for row in rows if row.get("error"))
        self.rejected += sum(1 for row in rows if row.get("reason") and not row.get("error"))
        if self.first is None:
            self.first = (len(rows), time.perf_counter() - self.started)

    def finish(self) -> "Summary":
        self.seconds = time.perf_counter() - self.started
        return self

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def running_rate(self) -> float | None:
        """Files per second once running: after the first chunk (the start-up left out)."""
        if self.first is None or self.done == self.first[0] or self.seconds <= self.first[1]:
            return None
        return (self.done - self.first[0]) / (self.seconds - self.first[1])


def run(
    work: Work,
    inputs: Iterator[str],
    results: Results,
    *,
    workers: int = 1,
    chunk: int = 64,
    on_progress: Callable[[int], None] | None = None,
) -> Summary:
    """Read every input the results do not hold yet, appending the rows a chunk at a time."""
    summary = Summary()
    inputs = skip_done(inputs, results, summary)
    work = prepared(work)
    chunks = iter(lambda: list(itertools.islice(inputs, chunk)), [])
    if workers <= 1:
        import torch

        threads = torch.get_num_threads()
        start_worker(work)  # as a pool's worker is: one torch thread, the model loaded once
        try:
            for paths in chunks:
                write_rows(results, summary, rows_of(work, paths), on_progress)
        finally:
            torch.set_num_threads(threads)  # the caller's process is not a worker
    else:
        with ProcessPoolExecutor(workers, initializer=start_worker, initargs=(work, True)) as pool:
            pending: deque[Future[list[dict[str, Any]]]] = deque()
            try:
                for paths in chunks:
                    pending.append(pool.submit(_worker_rows, paths))
                    if len(pending) >= 2 * workers:
                        write_rows(results, summary, pending.popleft().result(), on_progress)
                while pending:
                    write_rows(results, summary, pending.popleft().result(), on_progress)
            except KeyboardInterrupt:  # Ctrl-C: what is written stays; the queued chunks are
                pool.shutdown(wait=False, cancel_futures=True)  # dropped, those being read end
                raise
            except BrokenExecutor:
                raise DataError(
                    f"a worker died (out of memory? killed?) after {summary.done:,} files of "
                    "this run; the same command resumes"
                ) from None
    return summary.finish()


def skip_done(inputs: Iterator[str], results: Results, summary: Summary) -> Iterator[str]:
    """The inputs after those the results hold, checked to be the same files in the same order
    (else the inputs changed since the run began: a DataError, nothing written)."""
    for held in results.done():
        path = next(inputs, None)
        if path != held:
            now = "end before it" if path is None else f"now give {path!r}"
            raise DataError(
                f"{results.path} holds {held!r} where the inputs {now}: the inputs changed "
                "since this run began; give another --out"
            )
        summary.skipped += 1
    return inputs


def write_rows(
    results: Results,
    summary: Summary,
    rows: list[dict[str, Any]],
    on_progress: Callable[[int], None] | None,
) -> None:
    results.append(rows)
    summary.add(rows)
    if on_progress:
        on_progress(len(rows))


def rows_of(work: Work, paths: list[str]) -> list[dict[str, Any]]:
    """Each file's row, as `read --format json` or `predict --format json` prints it (a file
    that cannot be read is a row with its `error`). A chunk that fails otherwise (a bug met by
    one file) is read again a file at a time, the failing file's row saying what went wrong: one
    bad file does not stop an archive, nor every resumed run after it."""
    try:
        return _rows(work, paths)
    except DigitrecError:
        raise  # the model or the reader: every chunk would fail alike
    except Exception as error:
        if len(paths) == 1:
            row = {"file": paths[0], "error": f"internal error: {type(error).__name__}: {error}"}
            return [row]
        return [row for path in paths for row in rows_of(work, [path])]


def _rows(work: Work, paths: list[str]) -> list[dict[str, Any]]:
    options: dict[str, Any] = {"max_pixels": work.max_pixels} if work.max_pixels else {}
    if work.task == "read":
        from digitrec.reading import read_many

        return [r.to_json() for r in read_many(paths, _model(work), reader=work.reader, **options)]
    from digitrec.recognize import predict_many

    if work.threshold is not None:
        options["threshold"] = work.threshold
    return [r.to_json() for r in predict_many(paths, _model(work), **options)]


def prepared(work: Work) -> Work:
    """`work` checked in this process before any worker starts (a bad --model or --reader is one
    line here, not a failure in every worker), its classifier's backend chosen once."""
    from digitrec.reading.reader import choose_reader

    if work.task == "read" and choose_reader(work.reader) is not None:
        return work  # the line reader: no classifier
    classifier = _model(work)
    chosen = replace(
        work, backend="onnx" if type(classifier).__name__ == "OnnxClassifier" else "torch"
    )
    _loaded[chosen] = classifier  # this process reads with it too when it is the one worker
    return chosen


_loaded: dict[Work, Any] = {}


def _model(work: Work) -> Any:
    """The classifier, loaded once per process (the line reader is cached by `read_many`)."""
    if work not in _loaded:
        from digitrec.export.runtime import load_classifier
        from digitrec.reading.reader import choose_reader

        needed = work.task == "predict" or choose_reader(work.reader) is None
        # one thread: the workers are the parallelism (ONNX Runtime would take every core)
        _loaded[work] = (
            load_classifier(work.model, work.backend, threads=1) if needed else work.model
        )
    return _loaded[work]


_worker: list[Work] = []


def start_worker(work: Work, pooled: bool = False) -> None:
    import torch

    if pooled:  # Ctrl-C is the parent's to handle: a worker finishes its chunk and goes
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    _worker[:] = [work]  # the one work of this process (a pool's worker, or the caller)
    _model(work)


def _worker_rows(paths: list[str]) -> list[dict[str, Any]]:
    return rows_of(_worker[0], paths)

"""Progress bars on stderr for long work (downloads, loading folders, later training).

Bars go to stderr so that `--json` output on stdout stays clean; they disappear when stderr is not a
terminal or when `DIGITREC_NO_PROGRESS` is set.
"""

import contextlib
import os
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

stderr_console = Console(stderr=True)


def progress_enabled() -> bool:
    return stderr_console.is_terminal and not os.environ.get("DIGITREC_NO_PROGRESS")


@contextlib.contextmanager
def download_bar(label: str, total_bytes: int | None) -> Iterator[Callable[[int], None]]:
    """A byte-counting bar; yields a function to call with each chunk's size."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=stderr_console, transient=True, disable=not progress_enabled()
    ) as progress:
        task = progress.add_task(label, total=total_bytes)
        yield lambda amount: progress.advance(task, amount)


@contextlib.contextmanager
def count_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """An item-counting bar; yields a function to call with the number of items just done."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=stderr_console, transient=True, disable=not progress_enabled()
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda amount: progress.advance(task, amount)


@contextlib.contextmanager
def rate_bar(label: str, unit: str = "files") -> Iterator[Callable[[int], None]]:
    """A counter of items whose total is not known (streamed inputs): how many, how fast, for
    how long; yields a function to call with the number of items just done."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} " + unit),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=stderr_console, transient=True, disable=not progress_enabled()
    ) as progress:
        task = progress.add_task(label, total=None, rate="")

        def advance(amount: int) -> None:
            progress.advance(task, amount)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:,.1f} {unit}/s" if speed else "")

        yield advance


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with a message, for waits of unknown length (a subprocess, a connection)."""
    if not progress_enabled():
        yield
        return
    with stderr_console.status(message):
        yield

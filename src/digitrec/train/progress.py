"""Training progress on stderr: a live bar (loss, accuracy, ETA) on a terminal, and one line per
epoch always, so logs of background runs show how training went."""

from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from digitrec.progress import progress_enabled, stderr_console


class TrainingProgress:
    def __init__(self, total_steps: int, epochs: int, done_steps: int = 0) -> None:
        self.epochs = epochs
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[live]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr_console,
            transient=True,
            disable=not progress_enabled(),
        )
        self._task = self._progress.add_task(
            "training", total=total_steps, completed=done_steps, live=""
        )
        self._smoothed_loss: float | None = None

    def __enter__(self) -> "TrainingProgress":
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, error, trace)

    def step(self, loss: float, accuracy: float) -> None:
        previous = self._smoothed_loss
        self._smoothed_loss = loss if previous is None else 0.95 * previous + 0.05 * loss
        live = f"loss {self._smoothed_loss:.3f} acc {accuracy:.2%}"
        self._progress.update(self._task, advance=1, live=live)

    def epoch_done(self, record: dict[str, Any]) -> None:
        self._progress.console.print(
            f"epoch {record['epoch']}/{self.epochs}  "
            f"train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.2%}  "
            f"val loss {record['val_loss']:.4f} acc {record['val_accuracy']:.2%}  "
            f"lr {record['lr']:.2e}  {record['seconds']:.1f}s",
            highlight=False,
            soft_wrap=True,
        )

"""What compare and every study share: the run settings (cache, data, threads, smoke limits), the
table printed row by row while runs finish, the machine record at the top of a report, and number
formatting (one function per kind of number, so a report and its tests format alike)."""

import os
import statistics
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digitrec.errors import UsageError
from digitrec.report.cache import RUNS

SMOKE = {"limit": 500, "max_steps": 20, "eval_limit": 500}  # --smoke: seconds per run, real data


@dataclass(frozen=True)
class Settings:
    runs: Path = RUNS  # the run cache
    source: Path | None = None  # a folder with the MNIST files (else the digitrec cache)
    usps_source: Path | None = None  # a folder with the USPS files (transfer study)
    threads: int = 0  # torch threads for training and measuring; 0 = every core
    seeds: int = 1  # seeds 0 .. seeds-1
    epochs: float | None = None  # override every network's epochs
    limit: int = 0  # train on N digits (and validate on N); 0 = all
    max_steps: int = 0  # cap each training run at N optimizer steps; 0 = no cap
    eval_limit: int = 0  # measure on N test digits; 0 = all
    extra: dict[str, Any] = field(default_factory=dict)  # command-specific options

    def __post_init__(self) -> None:
        if not 1 <= self.seeds <= 100:
            raise UsageError("--seeds must be in 1..100")
        if self.epochs is not None and not 0 < self.epochs <= 1000:
            raise UsageError("--epochs must be in (0, 1000]")
        if min(self.limit, self.max_steps, self.eval_limit, self.threads) < 0:
            raise UsageError("--limit, --max-steps, --eval-limit and --threads must be ≥ 0")

    def smoke(self) -> "Settings":
        """The same settings on a small real subset: every unset limit takes its SMOKE value."""
        return replace(
            self,
            limit=self.limit or SMOKE["limit"],
            max_steps=self.max_steps or SMOKE["max_steps"],
            eval_limit=self.eval_limit or SMOKE["eval_limit"],
        )

    @property
    def is_smoke(self) -> bool:
        return bool(self.limit or self.max_steps or self.eval_limit)

    def train_values(self) -> dict[str, Any]:
        """TrainConfig values every run of a report takes from these settings."""
        return {"limit": self.limit, "max_steps": self.max_steps, "threads": self.threads}


def apply_threads(threads: int) -> None:
    """Measure with the thread count the runs train with."""
    import torch

    torch.set_num_threads(threads or len(os.sched_getaffinity(0)) or 1)


def machine_record(settings: Settings) -> dict[str, Any]:
    import torch

    from digitrec.provenance import git_commit, library_versions, machine

    versions = library_versions()
    return {
        **machine(),
        "threads": settings.threads or len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "versions": {
            k: versions[k] for k in ("digitrec", "torch", "numpy", "scikit-learn") if k in versions
        },
        "git_commit": git_commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "smoke": settings.is_smoke,
    }


class LiveTable:
    """A table printed on stdout one row at a time, as each run finishes (the header first)."""

    def __init__(self, title: str, columns: list[str], widths: list[int]) -> None:
        self.columns, self.widths = columns, widths
        self.rows: list[list[str]] = []
        self._title = title
        self._started = False

    def add(self, row: list[str]) -> None:
        from digitrec.output import stdout_console

        if not self._started:
            stdout_console.print(f"[bold]{self._title}[/]")
            stdout_console.print(self._line(self.columns), style="bold", soft_wrap=True)
            self._started = True
        self.rows.append(row)
        stdout_console.print(self._line(row), soft_wrap=True, markup=False)

    def _line(self, cells: list[str]) -> str:
        first, *rest = zip(cells, self.widths, strict=True)
        return f"{first[0]:<{first[1]}}" + "".join(f" {c:>{w}}" for c, w in rest)


def announce(message: str) -> None:
    """A progress line on stderr (which run is next), kept out of the table on stdout."""
    from digitrec.progress import stderr_console

    stderr_console.print(f"[dim]{message}[/]", highlight=False)


# --- numbers -----------------------------------------------------------------------------------


def percent(fraction: float) -> str:
    return f"{fraction:.2%}"


def mean_std(fractions: list[float]) -> str:
    """'99.12%' for one value, '99.12 ± 0.05%' (sample standard deviation) for several."""
    if len(fractions) == 1:
        return percent(fractions[0])
    return f"{100 * statistics.mean(fractions):.2f} ± {100 * statistics.stdev(fractions):.2f}%"


def points(difference: float) -> str:
    """A difference of two fractions in percentage points, signed."""
    return f"{100 * difference:+.2f} pt"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} s" if value >= 100 else f"{value:.1f} s"


def count(value: float) -> str:
    return f"{value:,.0f}"


def megabytes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"

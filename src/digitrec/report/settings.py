"""How a report's runs are run: the settings compare and every study share (the run cache, data,
threads, seeds, smoke limits), the thread count measurements take, and the machine record at the
top of a report."""

import os
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

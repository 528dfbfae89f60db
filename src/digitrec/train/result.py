"""What a training run returns, and how it can end short: shared by the network loop
(`train.loop`) and the classic baselines' fit (`train.baseline_run`)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitrec.errors import DigitrecError


class TargetNotReachedError(DigitrecError):
    pass


class TrainingInterruptedError(DigitrecError):
    exit_code = 130


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path
    val_accuracy: float
    val_loss: float
    epochs_run: float
    steps: int
    train_seconds: float  # time inside optimizer steps
    wall_seconds: float  # whole call: data, steps, validation, checkpoints
    history: list[dict[str, Any]]

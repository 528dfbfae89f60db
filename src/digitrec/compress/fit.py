"""`fit()`: train an already-built network with the one training loop
(`digitrec.train.loop.run_epochs`) — a student under a teacher's soft targets (distillation,
`train.objective`) or a pruned network keeping its zeros (fine-tuning with masks).

No checkpoints: these runs are short, or (the student) reproduced by a script. The
hyperparameters are a `TrainConfig` (optimizer, schedule, augmentation, noise, early stopping,
seed, threads); distillation adds a `DistillConfig`.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitrec.train.checkpoint import TrainingState
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import TrainingData
from digitrec.train.loop import apply_masks, ema_copy, run_epochs
from digitrec.train.objective import DistillConfig
from digitrec.train.optim import build_optimizer
from digitrec.train.tensors import evaluate_digits, to_digits


@dataclass
class FitResult:
    model: nn.Module  # the final weights (the EMA if config.ema), eval mode
    val_accuracy: float
    val_loss: float
    steps: int
    train_seconds: float
    history: list[dict[str, Any]]


def fit(
    model: nn.Module,
    splits: TrainingData,
    config: TrainConfig,
    *,
    teachers: Sequence[nn.Module] = (),
    distill: DistillConfig | None = None,
    masks: dict[str, torch.Tensor] | None = None,
    out: Path | None = None,
) -> FitResult:
    """Train `model` in place on splits.train, validating on splits.val after every epoch.

    teachers: frozen networks whose averaged soft targets the student learns (needs `distill`).
    masks: state-dict name -> 0/1 tensor; those entries are multiplied by their mask after every
    step, so pruned weights stay exactly zero. out: if given, metrics.jsonl is written there."""
    if teachers and distill is None:
        distill = DistillConfig()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(config.threads or len(os.sched_getaffinity(0)) or 1)
    try:
        return _fit(model, splits, config, list(teachers), distill, masks, out)
    finally:
        torch.set_num_threads(threads_before)


def _fit(
    model: nn.Module,
    splits: TrainingData,
    config: TrainConfig,
    teachers: list[nn.Module],
    distill: DistillConfig | None,
    masks: dict[str, torch.Tensor] | None,
    out: Path | None,
) -> FitResult:
    train_digits, val_digits = to_digits(splits.train), to_digits(splits.val)
    torch.manual_seed(config.seed)  # dropout
    generator = torch.Generator().manual_seed(config.seed)  # data order and augmentation
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    for teacher in teachers:
        teacher.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    masks = masks or {}
    apply_masks(model.state_dict(), masks)
    optimizer = build_optimizer(model, config)
    ema = ema_copy(model) if config.ema else None
    state = TrainingState()
    order = torch.randperm(len(train_digits.y), generator=generator)
    best = run_epochs(
        model, optimizer, ema, config, train_digits, val_digits, generator, state, order,
        teachers=teachers, distill=distill, masks=masks, out=out,
    )  # fmt: skip
    final = (ema or model).eval()
    if best is not None:  # early stopping keeps the weights of the best validation epoch
        final.load_state_dict(best)
    apply_masks(final.state_dict(), masks)  # the EMA drifts off zero between steps
    val_loss, val_accuracy = evaluate_digits(final, val_digits)
    return FitResult(final, val_accuracy, val_loss, state.step, state.train_seconds, state.history)

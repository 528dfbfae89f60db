"""`fit()`: the explicit loop that trains an already-built network — a student under a teacher's
soft targets (distillation) or a pruned network keeping its zeros (fine-tuning).

It reads like `digitrec.train.loop`: per step batch → augment → loss → step → masks → EMA, per
epoch validate → log. It has no checkpoints: these runs are short, or (the student) reproduced by
a script. The hyperparameters are a `TrainConfig` (optimizer, schedule, augmentation, seed,
threads); distillation adds a `DistillConfig`.

The distillation loss (Hinton et al. 2015), with teacher probabilities p_t = mean over teachers of
softmax(teacher logits / T):

    alpha · T² · KL(p_t ‖ softmax(student logits / T)) + (1 − alpha) · CE(student logits, labels)

T² keeps the soft term's gradients on the scale of the hard term's as T changes.
"""

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.functional import cross_entropy, kl_div, log_softmax, softmax

from digitrec.errors import UsageError
from digitrec.storage import atomic_write_text
from digitrec.train.augment import AUGMENTATIONS, augment_batch
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import TrainingData
from digitrec.train.loop import (
    Digits,
    ema_copy,
    ema_update,
    evaluate_digits,
    step_plan,
    to_digits,
)
from digitrec.train.optim import build_optimizer, lr_at, set_lr
from digitrec.train.progress import TrainingProgress

EVAL_BATCH = 1000


@dataclass
class DistillConfig:
    # Softens both distributions; higher shows more "dark knowledge". 1 with `calibrated`: the
    # teacher's own calibrated probabilities, what the shipped student was distilled with.
    temperature: float = 1.0
    alpha: float = 0.5  # weight of the soft-target term; 1 − alpha goes to the hard labels
    # Soften the teacher's calibrated probabilities (logits / its card's temperature) rather than
    # its raw logits: a teacher trained with label smoothing has flattened raw logits.
    calibrated: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and 0 < self.temperature <= 100):
            raise UsageError("distillation temperature must be in (0, 100]")
        if not 0 <= self.alpha <= 1:
            raise UsageError("distillation alpha must be in [0, 1]")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    state = model.state_dict()
    masks = masks or {}
    apply_masks(state, masks)
    optimizer = build_optimizer(model, config)
    ema = ema_copy(model) if config.ema else None
    augmentation = AUGMENTATIONS[config.augment]

    n = len(train_digits.y)
    steps_per_epoch, total_steps, epochs = step_plan(n, config)
    history: list[dict[str, Any]] = []
    step, train_seconds = 0, 0.0
    with TrainingProgress(total_steps, epochs) as progress:
        for epoch in range(epochs):
            order = torch.randperm(n, generator=generator)
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for start in range(0, n, config.batch_size):
                if step >= total_steps:
                    break
                started = time.perf_counter()
                index = order[start : start + config.batch_size]
                x = augment_batch(train_digits.x[index], augmentation, generator)
                x = x.contiguous(memory_format=torch.channels_last)
                y = train_digits.y[index]
                set_lr(optimizer, lr_at(step, total_steps, steps_per_epoch, config))
                logits = model(x)
                loss = cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                if teachers and distill is not None:
                    soft = _soft_targets(teachers, x, distill.temperature)
                    student = log_softmax(logits / distill.temperature, dim=1)
                    soft_loss = kl_div(student, soft, reduction="batchmean")
                    loss = (
                        distill.alpha * distill.temperature**2 * soft_loss
                        + (1 - distill.alpha) * loss
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                apply_masks(state, masks)
                if ema is not None:
                    ema_update(ema, model, config.ema, step)
                step += 1
                train_seconds += time.perf_counter() - started
                loss_sum += loss.item() * len(y)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(y)
                progress.step(loss.item(), correct / seen)
            current = ema or model
            val_loss, val_accuracy = evaluate_digits(current, val_digits)
            record = {
                "epoch": epoch + 1,
                "step": step,
                "train_loss": loss_sum / max(1, seen),
                "train_accuracy": correct / max(1, seen),
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": train_seconds,
            }
            history.append(record)
            progress.epoch_done(record)
            if out is not None:
                lines = "".join(json.dumps(r) + "\n" for r in history)
                atomic_write_text(out / "metrics.jsonl", lines)
    final = (ema or model).eval()
    apply_masks(final.state_dict(), masks)  # the EMA drifts off zero between steps
    val_loss, val_accuracy = evaluate_digits(final, val_digits)
    return FitResult(final, val_accuracy, val_loss, step, train_seconds, history)


@torch.no_grad()
def _soft_targets(teachers: list[nn.Module], x: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, C) mean of the teachers' softmax(logits / T). no_grad, not inference_mode: the result
    is saved for the student's backward pass, which inference tensors may not be."""
    probabilities = [softmax(teacher(x) / temperature, dim=1) for teacher in teachers]
    return torch.stack(probabilities).mean(0)


@torch.no_grad()
def apply_masks(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> None:
    """Multiply each masked state-dict entry (a live view of the model's tensors) by its mask."""
    for name, mask in masks.items():
        state[name].mul_(mask)


def logits_of(model: nn.Module, digits: Digits) -> torch.Tensor:
    """(N, 10) logits in eval mode, in batches."""
    model.eval()
    with torch.inference_mode():
        parts = [
            model(digits.x[i : i + EVAL_BATCH].contiguous(memory_format=torch.channels_last))
            for i in range(0, len(digits.y), EVAL_BATCH)
        ]
    return torch.cat(parts) if parts else torch.zeros((0, 10))

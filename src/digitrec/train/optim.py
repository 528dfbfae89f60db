"""Optimizers and learning-rate schedules, built from a `TrainConfig`."""

import math

import torch
from torch import nn

from digitrec.train.config import TrainConfig


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    # No weight decay on biases and batch-norm scales: decaying them only fights normalization.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=(config.momentum, 0.999))
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, 0.999))
    return torch.optim.Adadelta(groups, lr=config.lr)


def lr_at(step: int, total_steps: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """The learning rate for optimizer step `step` (0-based) of `total_steps`."""
    progress = step / max(1, total_steps)
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "step":  # multiply by gamma after every epoch (PyTorch example)
        return config.lr * config.step_gamma ** (step // steps_per_epoch)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * progress))
    # onecycle, as torch's OneCycleLR: cosine from lr/25 up to lr over the warm-up fraction of the
    # steps, then cosine down to lr/25/10^4.
    start, end = config.lr / 25, config.lr / 25 / 1e4
    warm_end = config.warmup * total_steps - 1
    if step <= warm_end:
        return _cosine_between(start, config.lr, step / warm_end if warm_end > 0 else 1.0)
    rest = (step - warm_end) / max(1e-9, total_steps - 1 - warm_end)
    return _cosine_between(config.lr, end, min(1.0, rest))


def _cosine_between(first: float, last: float, fraction: float) -> float:
    return last + (first - last) / 2 * (1 + math.cos(math.pi * fraction))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr

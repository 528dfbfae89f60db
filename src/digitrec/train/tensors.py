"""Digits as model-ready tensors, and what a network makes of them: its logits, loss and
accuracy (eval mode, no gradients, in batches)."""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from digitrec.data.digitset import DigitSet
from digitrec.models.modelfile import standardize

EVAL_BATCH = 1000


@dataclass
class Digits:
    """A split as model-ready tensors: x (N, 1, 28, 28) float32 standardized, y (N,) int64.

    x stays in the default layout: each batch is made channels-last after indexing (indexing a
    channels-last tensor with one channel yields a layout that makes convolutions crawl)."""

    x: torch.Tensor
    y: torch.Tensor


def evaluate_digits(model: nn.Module, digits: Digits) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on digits (eval mode, no gradients)."""
    if len(digits.y) == 0:
        return float("nan"), float("nan")
    logits = logits_of(model, digits)
    loss = float(cross_entropy(logits, digits.y))
    return loss, int((logits.argmax(1) == digits.y).sum()) / len(digits.y)


def logits_of(model: nn.Module, digits: Digits) -> torch.Tensor:
    """(N, 10) logits of the model in eval mode, in batches; leaves the model's mode as it was."""
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        parts = [
            model(
                digits.x[start : start + EVAL_BATCH].contiguous(memory_format=torch.channels_last)
            )
            for start in range(0, len(digits.y), EVAL_BATCH)
        ]
    model.train(was_training)
    return torch.cat(parts) if parts else torch.zeros((0, 10))


def to_digits(digits: DigitSet) -> Digits:
    """A 28×28 DigitSet as model-ready tensors."""
    return Digits(torch.from_numpy(standardize(digits.images)), torch.from_numpy(digits.labels))

"""What a training step minimizes: cross-entropy on the labels (label smoothing as configured),
plus an auxiliary head's when the network has one, and — when distilling — a teacher's soft
targets (Hinton et al. 2015). With teacher probabilities p_t = mean over teachers of
softmax(teacher logits / T):

    alpha · T² · KL(p_t ‖ softmax(student logits / T)) + (1 − alpha) · CE(student logits, labels)

T² keeps the soft term's gradients on the scale of the hard term's as T changes.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.functional import cross_entropy, kl_div, log_softmax, softmax

from digitrec.errors import UsageError
from digitrec.train.config import TrainConfig


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


def step_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    teachers: Sequence[nn.Module] = (),
    distill: DistillConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, loss) of one batch in training mode."""
    with_aux = getattr(model, "forward_with_aux", None)  # networks with an auxiliary head
    if with_aux is not None:
        logits, aux = with_aux(x)
    else:
        logits, aux = model(x), None
    loss = cross_entropy(logits, y, label_smoothing=config.label_smoothing)
    if aux is not None:
        aux_loss = cross_entropy(aux, y, label_smoothing=config.label_smoothing)
        loss = loss + config.aux_weight * aux_loss
    if teachers and distill is not None:
        soft = soft_targets(teachers, x, distill.temperature)
        student = log_softmax(logits / distill.temperature, dim=1)
        soft_loss = kl_div(student, soft, reduction="batchmean")
        loss = distill.alpha * distill.temperature**2 * soft_loss + (1 - distill.alpha) * loss
    return logits, loss


@torch.no_grad()
def soft_targets(
    teachers: Sequence[nn.Module], x: torch.Tensor, temperature: float
) -> torch.Tensor:
    """(B, C) mean of the teachers' softmax(logits / T). no_grad, not inference_mode: the result
    is saved for the student's backward pass, which inference tensors may not be."""
    probabilities = [softmax(teacher(x) / temperature, dim=1) for teacher in teachers]
    return torch.stack(probabilities).mean(0)

"""`distill()`: knowledge distillation — train a small zoo network (the student) on the soft targets
of one or more trained networks (the teachers, averaged as an ensemble) plus the hard labels.

The student is a fresh model from the zoo, trained by `compress.fit.fit` with the given
`TrainConfig` (augmentation included: the teachers see the very same warped digits). The result is
an ordinary run directory: config.json, metrics.jsonl, model.safetensors + model.json, with the
teachers and the distillation settings recorded in the card.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from digitrec.compress.fit import fit
from digitrec.errors import UsageError
from digitrec.models.loading import load_model
from digitrec.models.modelfile import resolve_model_path
from digitrec.models.zoo import MODELS, build_model, parameter_count
from digitrec.storage import sha256_file
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import load_training_data
from digitrec.train.objective import (
    DistillConfig as DistillConfig,  # digitrec.compress re-exports it
)
from digitrec.train.rundir import (
    prepare_run_dir,
    save_trained_network,
    write_run_config,
)
from digitrec.train.tensors import to_digits

# The student's training setup unless told otherwise: the `default` recipe's optimizer and
# schedule, no label smoothing (the soft targets already spread the probability mass), and light
# augmentation: a student this small underfits under the default's medium warps (the shipped
# student, scripts/train_student.py).
DISTILL_RECIPE: dict[str, Any] = dict(
    optimizer="sgd", nesterov=True, lr=0.1, momentum=0.9, weight_decay=5e-4,
    schedule="onecycle", warmup=0.2, batch_size=128, epochs=30, augment="light", ema=0.999,
)  # fmt: skip


@dataclass
class DistillResult:
    run_dir: Path
    model_path: Path
    val_accuracy: float
    parameters: int
    train_seconds: float
    history: list[dict[str, Any]]


def load_teacher(spec: str | Path, *, calibrated: bool = False) -> nn.Module:
    """A trained network as a frozen torch module (eval mode). calibrated: its logits divided by
    the temperature in its card, so softmax gives its calibrated probabilities."""
    from digitrec.models.torch_classifier import TorchClassifier

    classifier = load_model(spec)
    if not isinstance(classifier, TorchClassifier):
        raise UsageError(f"teacher {spec}: a {classifier.card.kind} model; teachers are networks")
    for parameter in classifier.module.parameters():
        parameter.requires_grad_(False)
    module = classifier.module.eval()
    if calibrated and classifier.card.temperature != 1.0:
        return Calibrated(module, classifier.card.temperature).eval()
    return module


class Calibrated(nn.Module):
    """A network whose logits are divided by its calibration temperature."""

    def __init__(self, network: nn.Module, temperature: float) -> None:
        super().__init__()
        self.network, self.temperature = network, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x) / self.temperature  # type: ignore[no-any-return]


def distill(
    teachers: list[str | Path],
    config: TrainConfig,
    out: Path,
    distillation: DistillConfig | None = None,
    *,
    source: Path | None = None,
) -> DistillResult:
    """Train `config.model` (a zoo network) into `out` from the teachers' soft targets.

    With no teachers this is plain training of the same student on hard labels — the baseline
    distillation must beat (see tests/test_compress.py)."""
    distillation = distillation or DistillConfig()
    if config.model not in MODELS:
        raise UsageError(f"unknown student {config.model!r}; known networks: {', '.join(MODELS)}")
    prepare_run_dir(out)
    teacher_paths = [resolve_model_path(spec) for spec in teachers]
    teacher_modules = [
        load_teacher(path, calibrated=distillation.calibrated) for path in teacher_paths
    ]
    splits = load_training_data(config, source)
    teacher_records = [
        {"model": str(spec), "sha256": sha256_file(path)}
        for spec, path in zip(teachers, teacher_paths, strict=True)
    ]
    write_run_config(out, config, splits, distill=distillation.to_json(), teachers=teacher_records)

    torch.manual_seed(config.seed)  # the student's initial weights
    student = build_model(config.model, config.model_args)
    result = fit(student, splits, config, teachers=teacher_modules, distill=distillation, out=out)
    weights, _ = save_trained_network(
        out, result.model, to_digits(splits.val), config,
        steps=result.steps, train_seconds=result.train_seconds,
        distill=distillation.to_json() if teacher_modules else None, teachers=teacher_records,
    )  # fmt: skip
    return DistillResult(
        out,
        weights,
        result.val_accuracy,
        parameter_count(result.model),
        result.train_seconds,
        result.history,
    )

"""A run directory, for every trainer (`train`, the classic baselines, `distill`, `prune`,
`train-reader`): the guard that a new run never overwrites another, its config.json, and its
finished network — calibrated on validation (a softmax temperature) and saved with its card.

A run directory holds config.json (every setting, the data and its checksums, where it ran),
metrics.jsonl (one line per epoch), checkpoint.safetensors while it can be resumed, and at the
end the model (`model.safetensors` + `model.json`; the line reader's `reader.*`).
"""

import json
from pathlib import Path
from typing import Any

from torch import nn
from torch.nn.functional import cross_entropy

from digitrec.errors import DataError, UsageError
from digitrec.models.modelfile import ModelCard, save_model
from digitrec.provenance import git_commit, provenance
from digitrec.storage import atomic_write_json, atomic_write_text
from digitrec.train.calibrate import fit_temperature
from digitrec.train.checkpoint import CHECKPOINT
from digitrec.train.datasets import TrainingData
from digitrec.train.tensors import Digits, evaluate_digits, logits_of


def prepare_run_dir(out: Path, *, resume: bool = False, model_stem: str = "model") -> None:
    """Make `out` for a new run, refusing one that holds a run already; with resume, check
    there is a checkpoint to continue from."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    if resume:
        if not (out / CHECKPOINT).exists():
            raise DataError(f"{out}: no checkpoint to resume ({CHECKPOINT} is missing)")
        return
    if (out / CHECKPOINT).exists() or (out / f"{model_stem}.safetensors").exists():
        raise UsageError(
            f"{out} already holds a run; pick another --out (or --resume one that did not finish)"
        )
    out.mkdir(parents=True, exist_ok=True)


def write_run_config(
    out: Path, config: Any, splits: TrainingData | None = None, **extra: Any
) -> dict[str, Any]:
    """config.json: the run's settings (`config.to_json()`, or a dict), what else it was made
    from (`extra`: teachers, the pruned model, the reader's data), the data's sizes and
    checksums, and where it ran."""
    record: dict[str, Any] = {"config": config if isinstance(config, dict) else config.to_json()}
    record |= extra
    if splits is not None:
        record["data"] = {
            "train": len(splits.train),
            "val": len(splits.val),
            "sha256": splits.checksums,
        }
    record["provenance"] = provenance()
    atomic_write_json(out / "config.json", record)
    return record


def calibrated_metrics(model: nn.Module, val_digits: Digits) -> tuple[dict[str, float], float]:
    """The finished network on validation: its metrics (accuracy, the loss of the probabilities
    the saved model gives — softmax(logits / T) — and the loss before T) and the temperature T
    fitted there."""
    raw_val_loss, val_accuracy = evaluate_digits(model, val_digits)
    val_logits = logits_of(model, val_digits)
    temperature = fit_temperature(val_logits, val_digits.y)
    val_loss = (
        float(cross_entropy(val_logits / temperature, val_digits.y)) if len(val_logits) else 0.0
    )
    metrics = {
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "val_loss_before_T": raw_val_loss,
    }
    return metrics, temperature


def write_metrics(out: Path, history: list[dict[str, Any]]) -> None:
    """metrics.jsonl: one JSON line per epoch so far (rewritten whole, atomically)."""
    atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))


def save_trained_network(
    out: Path,
    model: nn.Module,
    val_digits: Digits,
    config: Any,
    *,
    steps: int,
    train_seconds: float,
    architecture: str | None = None,
    arguments: dict[str, Any] | None = None,
    classes: tuple[str, ...] | None = None,
    **made_from: Any,
) -> tuple[Path, dict[str, float]]:
    """The finished network calibrated on validation (`calibrated_metrics`) and saved as
    out/model.safetensors + model.json: its card names the architecture (the config's unless
    given: a pruned network's own), its settings, what else it was `made_from` (teachers, the
    pruned model, the best epoch), steps, time, size and commit. -> (weights path, metrics)."""
    from digitrec.models.zoo import parameter_count

    metrics, temperature = calibrated_metrics(model, val_digits)
    card = ModelCard(
        kind="torch",
        architecture=architecture or config.model,
        arguments=config.model_args if arguments is None else arguments,
        metrics=metrics,
        training={
            "config": config.to_json(),
            **made_from,
            "steps": steps,
            "train_seconds": round(train_seconds, 2),
            "parameters": parameter_count(model),
            "git_commit": git_commit(),
        },
        temperature=temperature,
    )
    if classes is not None:
        card.classes = classes
    arrays = {k: v.detach().cpu().contiguous().numpy() for k, v in model.state_dict().items()}
    weights, _ = save_model(out / "model", arrays, card)
    return weights, metrics

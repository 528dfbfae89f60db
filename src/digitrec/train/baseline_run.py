"""Training a classic baseline (scikit-learn) as a run: same data, same run directory, same files,
one "epoch". The network options (epochs, optimizer, augmentation, ...) do not apply and are
ignored; model arguments come from --arg."""

import time
from pathlib import Path

from digitrec.evaluate.metrics import classification_metrics
from digitrec.models.modelfile import save_model
from digitrec.provenance import git_commit
from digitrec.train.config import TrainConfig
from digitrec.train.datasets import load_training_data
from digitrec.train.result import TargetNotReachedError, TrainResult
from digitrec.train.rundir import prepare_run_dir, write_metrics, write_run_config


def train_baseline(config: TrainConfig, out: Path, *, source: Path | None = None) -> TrainResult:
    from digitrec.baselines import fit_baseline
    from digitrec.progress import status

    prepare_run_dir(out)
    wall_start = time.perf_counter()
    splits = load_training_data(config, source)
    write_run_config(out, config, splits)
    started = time.perf_counter()
    with status(f"fitting {config.model} on {len(splits.train):,} digits"):
        model = fit_baseline(config.model, config.model_args, splits.train, config.seed)
    fit_seconds = time.perf_counter() - started
    val = splits.val
    accuracy, loss = 0.0, 0.0
    if len(val):
        measured = classification_metrics(model.predict_proba(val.images), val.labels, val.classes)
        accuracy, loss = measured["accuracy"], measured["log_loss"]
    history = [
        {"epoch": 1, "val_loss": loss, "val_accuracy": accuracy, "seconds": round(fit_seconds, 2)}
    ]
    write_metrics(out, history)
    model.card.metrics = {"val_accuracy": accuracy, "val_loss": loss}
    model.card.training |= {
        "config": config.to_json(),
        "train_seconds": round(fit_seconds, 2),
        "git_commit": git_commit(),
    }
    weights, _ = save_model(out / "model", model.arrays(), model.card)
    result = TrainResult(
        out, weights, accuracy, loss, 1.0, 0, fit_seconds, time.perf_counter() - wall_start, history
    )
    if config.target_acc and accuracy < config.target_acc:
        raise TargetNotReachedError(
            f"validation accuracy {accuracy:.4f} is below --target-acc {config.target_acc}"
        )
    return result

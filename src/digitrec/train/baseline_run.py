"""Training a classic baseline (scikit-learn) as a run: same run directory, same files, one "epoch"."""

import json
import time
from pathlib import Path

from digitrec import data
from digitrec.errors import UsageError
from digitrec.models.modelfile import save_model
from digitrec.preprocess import to_mnist_format
from digitrec.provenance import provenance
from digitrec.storage import atomic_write_text
from digitrec.train.config import TrainConfig
from digitrec.train.loop import TargetNotReachedError, TrainResult


def train_baseline(config: TrainConfig, out: Path, *, source: Path | None = None) -> TrainResult:
    import numpy as np

    from digitrec.baselines import fit_baseline
    from digitrec.progress import status

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    if (out / "model.safetensors").exists():
        raise UsageError(f"{out} already holds a trained model; pick another --out")
    wall_start = time.perf_counter()
    report = data.fetch(config.dataset, source)
    splits = data.load_splits(config.dataset, source, data.SplitConfig(scheme=config.scheme))
    limit = config.limit or len(splits["train"])
    train_set = splits["train"].subset(np.arange(min(limit, len(splits["train"]))), "train")
    val_set = splits["val"].subset(np.arange(min(limit, len(splits["val"]))), "val")
    train_set = type(train_set)(
        train_set.name, "train", to_mnist_format(train_set.images), train_set.labels
    )
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "config": config.to_json(),
        "data": {
            "train": len(train_set),
            "val": len(val_set),
            "sha256": dict(report.checksums) if report else {},
        },
        "provenance": provenance(),
    }
    atomic_write_text(out / "config.json", json.dumps(record, indent=2) + "\n")
    started = time.perf_counter()
    with status(f"fitting {config.model} on {len(train_set):,} digits"):
        model = fit_baseline(config.model, config.model_args, train_set, config.seed)
    fit_seconds = time.perf_counter() - started
    probabilities = model.predict_proba(to_mnist_format(val_set.images))
    accuracy = float((probabilities.argmax(1) == val_set.labels).mean()) if len(val_set) else 0.0
    picked = probabilities[np.arange(len(val_set)), val_set.labels]
    loss = float(-np.log(np.clip(picked, 1e-12, None)).mean()) if len(val_set) else 0.0
    history = [
        {"epoch": 1, "val_loss": loss, "val_accuracy": accuracy, "seconds": round(fit_seconds, 2)}
    ]
    atomic_write_text(out / "metrics.jsonl", json.dumps(history[0]) + "\n")
    model.card.metrics = {"val_accuracy": accuracy, "val_loss": loss}
    model.card.training |= {
        "config": config.to_json(),
        "train_seconds": round(fit_seconds, 2),
        "git_commit": record["provenance"]["git_commit"],
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

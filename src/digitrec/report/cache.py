"""The cache of trained runs that makes reports incremental.

A run is keyed by a hash of its full `TrainConfig` (every field but the thread count and the
`--target-acc` gate, which do not change what is learned): `RUNS/MODEL-HASH/`. A finished run is
reused as it is; an interrupted one is resumed from its checkpoint; anything else is trained. Each
measurement of a run (`evaluate()` on one dataset split) is cached beside it in
`evaluations/`, with the test digits' predicted probabilities, so a rerun of a report measures only
what is new. Delete a run directory to measure it again.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.storage import atomic_write_bytes, atomic_write_json
from digitrec.train.config import TrainConfig

RUNS = Path("runs/cache")
NOT_IN_KEY = ("threads", "target_acc")  # settings that do not change the trained model


def config_key(config: TrainConfig) -> str:
    values = {k: v for k, v in config.to_json().items() if k not in NOT_IN_KEY}
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_dir(config: TrainConfig, runs: Path = RUNS) -> Path:
    return runs / f"{config.model}-{config_key(config)}"


@dataclass(frozen=True)
class Run:
    config: TrainConfig
    directory: Path
    reused: bool  # found finished in the cache

    @property
    def card(self) -> dict[str, Any]:
        card: dict[str, Any] = json.loads((self.directory / "model.json").read_text())
        return card

    def history(self) -> list[dict[str, Any]]:
        """metrics.jsonl: one record per epoch (one for a classic baseline)."""
        path = self.directory / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @property
    def epochs_run(self) -> float:
        """Optimizer steps over steps per epoch (fractional budgets and early stops show); one
        for a classic baseline's fit."""
        steps = int(self.card["training"].get("steps") or 0)
        if not steps:
            return float(len(self.history()))
        record = json.loads((self.directory / "config.json").read_text())
        return steps / math.ceil(int(record["data"]["train"]) / self.config.batch_size)

    @property
    def train_seconds(self) -> float:
        return float(self.card["training"].get("train_seconds", 0.0))


def finished(directory: Path) -> bool:
    # model.safetensors is written last, atomically, once training is over
    return (directory / "model.safetensors").is_file() and (directory / "model.json").is_file()


def ensure_run(config: TrainConfig, runs: Path = RUNS, source: Path | None = None) -> Run:
    """The finished run of `config`: from the cache, resumed, or trained now."""
    from digitrec.train import train
    from digitrec.train.checkpoint import CHECKPOINT

    directory = run_dir(config, runs)
    if finished(directory):
        return Run(config, directory, reused=True)
    resume = (directory / CHECKPOINT).is_file()
    train(config, directory, resume=resume, source=source)
    return Run(config, directory, reused=False)


@dataclass(frozen=True)
class Measurement:
    """`digitrec.evaluate.evaluate` of a run on one split; the probabilities it predicted for each
    digit of that split (in the order `load_digits` gives them) are computed on first use."""

    run: Run
    dataset: str
    split: str
    limit: int
    source: Path | None
    metrics: dict[str, Any]

    @property
    def _probabilities_path(self) -> Path:
        return _evaluation_stem(self.run, self.dataset, self.split, self.limit).with_suffix(".npy")

    def probabilities(self) -> np.ndarray:
        """(N, C) float32, cached beside the metrics."""
        from digitrec.models.loading import load_model

        path = self._probabilities_path
        if path.is_file():
            cached: np.ndarray = np.load(path, allow_pickle=False)
            return cached
        images, _labels = load_digits(
            self.dataset, self.split, self.run.config.scheme, self.limit, self.source
        )
        probabilities = load_model(self.run.directory).predict_proba(images).astype(np.float32)
        atomic_write_bytes(path, _npy_bytes(probabilities))
        return probabilities


def measure(
    run: Run,
    dataset: str,
    split: str = "test",
    *,
    source: Path | None = None,
    limit: int = 0,
) -> Measurement:
    """evaluate() of the run on `dataset`'s `split` (in the run's own split scheme: a model trained
    on an 80/10/10 split is measured on that split's test part, never on digits it trained on)."""
    from digitrec.evaluate import evaluate

    path = _evaluation_stem(run, dataset, split, limit).with_suffix(".json")
    if path.is_file():
        metrics = json.loads(path.read_text())
    else:
        metrics = evaluate(
            run.directory, dataset, split, source=source, scheme=run.config.scheme, limit=limit
        )
        atomic_write_json(path, metrics, indent=1)
    return Measurement(run, dataset, split, limit, source, metrics)


def _evaluation_stem(run: Run, dataset: str, split: str, limit: int) -> Path:
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{dataset}-{split}-{run.config.scheme}-{limit}")
    return run.directory / "evaluations" / name


def load_digits(
    dataset: str, split: str, scheme: str, limit: int, source: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """The digits `evaluate()` measures, in its order: (N, 28, 28) uint8 and (N,) labels."""
    from digitrec import data
    from digitrec.preprocess import to_mnist_format

    digits = data.load(dataset, split, source, data.SplitConfig(scheme=scheme))  # type: ignore[arg-type]
    digits = digits.limited(limit)
    return to_mnist_format(digits.images, dataset), digits.labels


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()

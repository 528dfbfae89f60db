"""`evaluate()`: a model on a dataset split — quality metrics plus size, speed and memory."""

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from digitrec import data
from digitrec.errors import UsageError
from digitrec.evaluate.metrics import classification_metrics, reliability_curve
from digitrec.models.modelfile import Classifier, resolve_model_path
from digitrec.preprocess import to_mnist_format
from digitrec.provenance import provenance
from digitrec.timing import call_seconds

LATENCY_REPEATS = 30  # single-image predictions timed for the latency median


def evaluate(
    model: str | Path,
    dataset: str = "mnist",
    split: str = "test",
    *,
    source: Path | None = None,
    scheme: str = "standard",
    limit: int = 0,
    backend: str = "torch",
) -> dict[str, Any]:
    """Every number `digitrec evaluate` reports, as one JSON-able dict (accuracy as a fraction).

    backend: torch, onnx or auto (see `digitrec.export.runtime.load_classifier`).

    Throughput is batched prediction over the whole split; latency is the median of single-image
    predictions; peak memory is the resident memory the batched pass added (Linux), in MB — a
    lower bound, since memory the process had already freed can be reused."""
    if limit < 0:
        raise UsageError("--limit must be ≥ 0")
    from digitrec.export.runtime import OnnxClassifier, load_classifier  # onnxruntime on use only

    classifier = load_classifier(model, backend)
    onnx = isinstance(classifier, OnnxClassifier)
    weights = (
        classifier.path if isinstance(classifier, OnnxClassifier) else resolve_model_path(model)
    )
    digits = data.load(dataset, split, source, data.SplitConfig(scheme=_scheme(scheme)))
    digits = digits.limited(limit)
    if len(digits) == 0:
        raise UsageError(f"{dataset} {split} is empty")
    if len(digits.classes) != len(classifier.card.classes):
        raise UsageError(
            f"{dataset} has {len(digits.classes)} classes, the model {len(classifier.card.classes)}"
        )
    images = to_mnist_format(digits.images, dataset)
    classifier.predict_proba(images[:64])  # warm-up: first-call setup is not throughput
    with PeakMemory() as memory:
        started = time.perf_counter()
        probabilities = classifier.predict_proba(images)
        seconds = time.perf_counter() - started
    metrics = classification_metrics(probabilities, digits.labels, digits.classes)
    card_path = weights.with_suffix(".json")
    size = weights.stat().st_size + (card_path.stat().st_size if card_path.exists() else 0)
    return {
        "model": str(model),
        "architecture": classifier.card.architecture,
        "backend": "onnx" if onnx else "torch" if classifier.card.kind == "torch" else "numpy",
        "dataset": dataset,
        "split": split,
        **metrics,
        "reliability": reliability_curve(probabilities, digits.labels),
        "parameters": _parameters(classifier),
        "size_bytes": size,
        "throughput_images_per_s": len(images) / seconds if seconds > 0 else None,
        "latency_ms": _latency_ms(classifier, images),
        "peak_memory_mb": memory.peak_mb,
        "provenance": provenance(),
    }


def _scheme(name: str) -> Any:
    if name not in data.splits.SCHEMES:
        raise UsageError(f"scheme must be one of {', '.join(data.splits.SCHEMES)}")
    return name


def _parameters(classifier: Classifier) -> int:
    count = getattr(classifier, "parameter_count", None)  # an export knows its network's count
    if count is not None:
        return int(count)
    module = getattr(classifier, "module", None)
    if module is not None:
        return sum(p.numel() for p in module.parameters())
    arrays = classifier.arrays() if hasattr(classifier, "arrays") else {}
    return int(sum(np.asarray(a).size for a in arrays.values()))


def _latency_ms(classifier: Classifier, images: np.ndarray) -> float:
    one = images[:1]
    return 1000 * statistics.median(
        call_seconds(lambda: classifier.predict_proba(one), LATENCY_REPEATS)
    )


class PeakMemory:
    """Peak resident memory added inside the block, via Linux's resettable high-water mark
    (writing 5 to /proc/self/clear_refs resets VmHWM). peak_mb is None where that is unavailable."""

    def __init__(self) -> None:
        self.peak_mb: float | None = None
        self._start_kb: int | None = None

    def __enter__(self) -> "PeakMemory":
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._start_kb = _status_kb("VmRSS")
        except OSError:
            self._start_kb = None
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._start_kb is None:
            return
        try:
            self.peak_mb = max(0, _status_kb("VmHWM") - self._start_kb) / 1024
        except OSError:
            self.peak_mb = None


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")

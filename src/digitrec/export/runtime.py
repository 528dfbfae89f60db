"""The ONNX Runtime backend: an exported network behind the same `Classifier` interface as
`TorchClassifier`, and `load_classifier(spec, backend)` for every command that runs a model
(predict, read, evaluate, serve).

Backends:
- "torch": the model file in PyTorch (any model: networks and classic baselines);
- "onnx": a .onnx file as is, or a network's model file exported once into the cache
  ($DIGITREC_HOME/onnx/, keyed by the weights' SHA-256 and the torch version) and run by ONNX
  Runtime — no torch import at all when the export is cached;
- "auto": ONNX Runtime when it is installed and was measured faster for that model on this
  machine (both backends timed once, at batch 1 and batch 256, when the export is cached; the
  verdict is kept beside it), otherwise torch.
"""

import contextlib
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import DataError, UsageError
from digitrec.extras import require
from digitrec.home import digitrec_home
from digitrec.models.loading import load_model
from digitrec.models.modelfile import (
    Classifier,
    ModelCard,
    read_model,
    resolve_model_path,
    standardize,
)
from digitrec.storage import sha256_file
from digitrec.timing import call_seconds

BACKENDS = ("torch", "onnx", "auto")
BATCH = 512  # digits per session.run: bounded memory, near-peak throughput


class OnnxClassifier:
    """An exported network run by ONNX Runtime on the CPU: uint8 digits in, probabilities out."""

    def __init__(self, path: Path, *, threads: int = 0) -> None:
        ort = require("onnxruntime")
        self.path = Path(path)
        if not self.path.is_file():
            raise UsageError(f"no ONNX model at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0)) or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # ORT raises its own Fail/InvalidGraph types
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise DataError(f"{path}: not a loadable ONNX model ({first})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if "digitrec" not in metadata:
            raise DataError(f"{path}: not a digitrec export (no model card in its metadata)")
        try:
            card = json.loads(metadata["digitrec"])
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: model card is not valid JSON ({error})") from None
        self.card = ModelCard.from_json(card, str(path))
        self.precision = metadata.get("digitrec_precision", "fp32")
        count = metadata.get("digitrec_parameters", "")
        self.parameter_count = int(count) if count.isdigit() else None  # the torch network's
        self.input_name = self.session.get_inputs()[0].name

    def logits(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) uint8 ink bright -> (N, C) float32 logits."""
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(
                f"expected (N, 28, 28) uint8 digits, got {images.dtype} {images.shape}"
            )
        parts = [
            self.session.run(None, {self.input_name: standardize(images[i : i + BATCH])})[0]
            for i in range(0, len(images), BATCH)
        ]
        if not parts:
            return np.zeros((0, len(self.card.classes)), np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        scaled = self.logits(images) / self.card.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def arrays(self) -> dict[str, np.ndarray]:
        """The graph's weights (quantization scales and zero points left out), for counting."""
        onnx = require("onnx")
        from onnx import numpy_helper

        model = onnx.load(str(self.path))
        return {
            t.name: numpy_helper.to_array(t)
            for t in model.graph.initializer
            if not t.name.endswith(("_scale", "_zero_point"))
        }


def onnx_available() -> bool:
    """Whether ONNX Runtime and the exporter's packages are installed (without importing them)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("onnxruntime", "onnx", "onnxscript"))


def load_classifier(spec: str | Path, backend: str = "auto", *, threads: int = 0) -> Classifier:
    """A model to run, on the chosen backend (see the module docstring).

    spec: "default", a run directory, a model file, or an exported .onnx file."""
    if backend not in BACKENDS:
        raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if str(spec).endswith(".onnx"):
        if backend == "torch":
            raise UsageError(f"{spec} is an ONNX file: run it with --backend onnx or auto")
        return OnnxClassifier(Path(spec), threads=threads)
    if backend == "torch":
        return load_model(spec)
    weights = resolve_model_path(spec)
    card, _ = read_model(weights)
    if card.kind != "torch":
        if backend == "onnx":
            raise UsageError(f"{spec} is a {card.kind} model; only networks run under ONNX Runtime")
        return load_model(weights)
    if backend == "auto" and not onnx_available():
        return load_model(weights)
    if backend == "onnx":
        require("onnxruntime")
    try:
        exported = cached_export(weights)
    except OSError as error:  # a read-only or broken $DIGITREC_HOME: nothing kept, still runs
        if backend == "auto":
            print(f"digitrec: no ONNX cache ({error}); running on torch", file=sys.stderr)
            return load_model(weights)
        exported = cached_export(weights, _scratch_folder())
    if backend == "onnx" or _faster_backend(weights, exported, threads) == "onnx":
        return OnnxClassifier(exported, threads=threads)
    return load_model(weights)


def cached_export(weights: Path, cache: Path | None = None) -> Path:
    """The fp32 ONNX export of a network's model file, made once and kept in the cache
    ($DIGITREC_HOME/onnx unless `cache` is given). OSError when the cache cannot be written."""
    from importlib.metadata import version

    from digitrec.export.onnx_export import export_onnx

    key = f"{sha256_file(weights)[:24]}-torch{version('torch')}"
    path = (cache or digitrec_home() / "onnx") / f"{key}.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(
            f"digitrec: exporting {weights.stem} to ONNX once (kept in {path.parent})",
            file=sys.stderr,
        )
        export_onnx(weights, path)
    return path


def _scratch_folder() -> Path:
    """A private folder for exports when $DIGITREC_HOME cannot hold them: one per user, reused
    across runs (not a new temporary folder every time), and only if this user owns it alone."""
    folder = Path(tempfile.gettempdir()) / f"digitrec-onnx-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or folder.is_symlink():
        return Path(tempfile.mkdtemp(prefix="digitrec-onnx-"))  # someone else's: not trusted
    return folder


def _faster_backend(weights: Path, exported: Path, threads: int) -> str:
    """ "onnx" if ONNX Runtime beat torch for this model on this machine at batch 1 and at batch
    256, else "torch"; measured once and kept beside the cached export."""
    from digitrec.storage import atomic_write_json

    verdict_path = exported.with_suffix(".speed.json")
    if verdict_path.is_file():
        try:
            verdict: dict[str, Any] = json.loads(verdict_path.read_text())
            return str(verdict["faster"])
        except (json.JSONDecodeError, KeyError, OSError):
            pass  # measure again
    digits = np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8)
    timings = {
        "torch": _time(load_model(weights), digits),
        "onnx": _time(OnnxClassifier(exported, threads=threads), digits),
    }
    faster = (
        "onnx"
        if all(timings["onnx"][k] < timings["torch"][k] for k in timings["onnx"])
        else "torch"
    )
    verdict = {"faster": faster, "seconds": timings}
    with contextlib.suppress(OSError):  # not kept: measured again next time
        atomic_write_json(verdict_path, verdict)
    return faster


def _time(classifier: Classifier, digits: np.ndarray) -> dict[str, float]:
    """Median seconds of one prediction at batch 1 (20 runs) and batch 256 (3 runs)."""
    result = {}
    for batch, repeats in ((1, 20), (len(digits), 3)):
        inputs = digits[:batch]
        seconds = call_seconds(functools.partial(classifier.predict_proba, inputs), repeats)
        result[f"batch{batch}"] = statistics.median(seconds)
    return result

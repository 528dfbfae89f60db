"""Model files: weights in safetensors next to a JSON card that says how to rebuild and use them.

A model is two files with one stem, `NAME.safetensors` and `NAME.json`, written atomically. The
card is also stored in the safetensors header (metadata key "digitrec"), so the weights file alone
still describes itself. Never pickle: a model file cannot run code when it is loaded.

The card:
    {"format": "digitrec-model/1",
     "kind": "torch" | "baseline",
     "architecture": "cnn-small",           # a key of models.zoo.MODELS or baselines.BASELINES
     "arguments": {...},                    # keyword arguments of the builder
     "classes": ["0", ..., "9"],
     "input": {"side": 28, "mean": 0.1307, "std": 0.3081, "ink": "bright"},
     "temperature": 1.0,                    # softmax(logits / temperature), fitted on validation
     "metrics": {...}, "training": {...}}   # what it reached and how it was made

The reader's own networks are files of the same format with their own kinds ("line-reader",
"verifier"; `reading/netfile.py`): format, kind, architecture, arguments, metrics, training.
Only "torch" and "baseline" files are digit classifiers (`ModelCard`, `load_model`).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from digitrec.errors import DataError, UsageError
from digitrec.models import versions
from digitrec.models.versions import PACKAGED as PACKAGED
from digitrec.storage import atomic_write_bytes, atomic_write_text

FORMAT = "digitrec-model/1"
CLASSIFIER_KINDS = ("torch", "baseline")
# The reader networks' own formats before they became kinds of this one (read, never written:
# older files and `git show REV:...` copies still load).
LEGACY_FORMATS = {"digitrec-line-reader/1": "line-reader", "digitrec-verifier/1": "verifier"}
# Models see MNIST-standardized input: (x / 255 - MEAN) / STD, ink bright. Defined here only.
MEAN, STD = 0.1307, 0.3081
SIDE = 28


@dataclass
class ModelCard:
    kind: str
    architecture: str
    arguments: dict[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] = tuple("0123456789")
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0  # logits are divided by this before the softmax (calibration)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "architecture": self.architecture,
            "arguments": self.arguments,
            "classes": list(self.classes),
            "input": {"side": SIDE, "mean": MEAN, "std": STD, "ink": "bright"},
            "temperature": self.temperature,
            "metrics": self.metrics,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, card: dict[str, Any], where: str) -> "ModelCard":
        if card.get("format") != FORMAT:
            raise DataError(f"{where}: not a digitrec model card (format {card.get('format')!r})")
        if card.get("kind") not in CLASSIFIER_KINDS:
            raise DataError(f"{where}: a {card.get('kind')} file, not a digit classifier")
        try:
            return cls(
                kind=str(card["kind"]),
                architecture=str(card["architecture"]),
                arguments=dict(card.get("arguments", {})),
                classes=tuple(str(c) for c in card["classes"]),
                metrics=dict(card.get("metrics", {})),
                training=dict(card.get("training", {})),
                temperature=float(card.get("temperature", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"{where}: model card is missing or has a bad {error}") from None


class Classifier(Protocol):
    """What every loaded model offers, neural or classic."""

    card: ModelCard

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) uint8, ink bright (MNIST-style, see preprocess.normalize_digit).
        Returns (N, C) float32 class probabilities, rows summing to 1."""
        ...


def standardize(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float32 model input."""
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


def save_model(stem: Path, arrays: dict[str, np.ndarray], card: ModelCard) -> tuple[Path, Path]:
    """Write STEM.safetensors and STEM.json atomically; returns both paths."""
    return write_model_files(stem, arrays, card.to_json())


def write_model_files(
    stem: Path, arrays: dict[str, np.ndarray], card: dict[str, Any]
) -> tuple[Path, Path]:
    """Any digitrec-model/1 file (a classifier's or a reader network's card): STEM.safetensors
    with the card in its header, and STEM.json beside it, both atomically."""
    if card.get("format") != FORMAT or not card.get("kind"):
        raise ValueError(f"a model card needs format {FORMAT!r} and a kind")
    from safetensors.numpy import save

    stem = _stem(stem)
    text = json.dumps(card, indent=2, sort_keys=False)
    # (reshaped: ascontiguousarray turns a 0-d array, e.g. BatchNorm's step count, into 1-d)
    contiguous = {n: np.ascontiguousarray(v).reshape(np.shape(v)) for n, v in arrays.items()}
    weights, card_path = Path(f"{stem}.safetensors"), Path(f"{stem}.json")
    weights.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(card_path, text + "\n")
    atomic_write_bytes(weights, save(contiguous, metadata={"digitrec": text}))
    return weights, card_path


def resolve_model_path(spec: str | Path) -> Path:
    """`default` (the active model version: `models.versions`), `shipped` (the package's own
    default, whichever version is active), another packaged name, a run directory, STEM.json or
    STEM.safetensors -> the safetensors path."""
    text = str(spec)
    if text in ("default", "shipped") and not Path(text).exists():
        return versions.active().path if text == "default" else versions.shipped_path()
    packaged = PACKAGED / f"{text}.safetensors"
    path = Path(text).expanduser()
    if "/" not in text and "." not in text and packaged.is_file() and not path.exists():
        return packaged
    if path.is_dir():
        path = path / "model.safetensors"
    elif path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    elif path.suffix != ".safetensors":  # a stem, possibly with dots: runs/logreg-C1.0
        path = Path(f"{path}.safetensors")
    if not path.is_file():
        known = sorted(p.stem for p in PACKAGED.glob("*.safetensors"))
        raise UsageError(
            f"no model at {spec} (give a run directory, a .safetensors file, or one of: "
            f"{', '.join(known) or 'none packaged'})"
        )
    return path


def read_model(spec: str | Path) -> tuple[ModelCard, dict[str, np.ndarray]]:
    """The card and the weights (as NumPy arrays) of a digit classifier's model file."""
    path = resolve_model_path(spec)
    card, arrays = read_model_files(path)
    return ModelCard.from_json(card, str(path.with_suffix(".json"))), arrays


def read_model_files(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The card (a digitrec-model/1 JSON object of any kind) and the weights of PATH.safetensors.
    FileNotFoundError when it does not exist; DataError when it is not such a file."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise FileNotFoundError(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            arrays = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable safetensors file ({error})") from None
    # The card in the weights file's header was written atomically with the weights, so it wins;
    # the .json beside it is the readable copy (and the fallback for files without a header card).
    card_path = path.with_suffix(".json")
    try:
        text = metadata["digitrec"] if "digitrec" in metadata else card_path.read_text()
        card = json.loads(text)
    except FileNotFoundError:
        raise DataError(f"{path}: no model card ({card_path.name} is missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{card_path}: model card is not valid JSON ({error})") from None
    if not isinstance(card, dict):
        raise DataError(f"{card_path}: model card is not a JSON object")
    if card.get("format") in LEGACY_FORMATS:
        card = {"format": FORMAT, "kind": LEGACY_FORMATS[card["format"]]} | {
            k: v for k, v in card.items() if k != "format"
        }
    if card.get("format") != FORMAT:
        raise DataError(f"{card_path}: not a digitrec model card (format {card.get('format')!r})")
    return card, arrays


def _stem(path: Path) -> Path:
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path

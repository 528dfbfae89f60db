"""digitrec: handwritten digit and number recognition.

The top-level package stays cheap to import (no torch, no OpenCV): heavy modules are imported by
the functions that need them.

    import digitrec
    model = digitrec.load_model("default")        # or a run directory / model file
    probabilities = model.predict_proba(digits)   # (N, 28, 28) uint8 -> (N, 10)
    digitrec.predict("scan.png").digit            # one digit read from an image (or None)
    digitrec.read("form.jpg").text                # a handwritten number read from an image

    from digitrec.evaluate import evaluate
    report = evaluate("default", "mnist", "test")   # every number `digitrec evaluate` prints
"""

from typing import TYPE_CHECKING

from digitrec.errors import DigitrecError

if TYPE_CHECKING:
    from pathlib import Path

    from digitrec.models.modelfile import Classifier
    from digitrec.reading import NumberReading
    from digitrec.recognize import DigitPrediction, ImageInput

__version__ = "0.1.0"


def load_model(
    spec: "str | Path" = "default", backend: str = "auto", *, threads: int = 0
) -> "Classifier":
    """A trained model, neural or classic, exactly as the CLI and the server run it: "default"
    (shipped), a run directory, a model file or an exported .onnx file.

    backend: "torch", "onnx" (ONNX Runtime) or "auto" (ONNX Runtime where it is installed and
    was measured faster for that model on this machine, else torch). threads: 0 = every core."""
    from digitrec.export.runtime import load_classifier

    return load_classifier(spec, backend, threads=threads)


def predict(
    image: "ImageInput", model: "Classifier | str | Path" = "default", *, threshold: float = 0.5
) -> "DigitPrediction":
    """Read the one digit in an image: a path, encoded bytes, a NumPy array or a PIL image.

    Returns a DigitPrediction: digit (None when there is no confident digit, with a reason),
    confidence, top3 and the per-class probabilities."""
    from digitrec.recognize import predict as run

    return run(image, model, threshold=threshold)


def read(image: "ImageInput", model: "Classifier | str | Path" = "default") -> "NumberReading":
    """Read the handwritten number (one line of digits) in an image: a path, encoded bytes, a
    NumPy array or a PIL image.

    Returns a NumberReading: text ("" when no digit was found, with a reason), confidence (the
    chance the whole string is right) and per digit the digit, its confidence and its box
    (x, y, w, h) in the image's pixels."""
    from digitrec.reading import read as run

    return run(image, model)


__all__ = ["DigitrecError", "__version__", "load_model", "predict", "read"]

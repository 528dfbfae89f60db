"""An exported ONNX file checked against the torch model it came from, on a whole split: the
same answers (fp32) or no more than a tenth of a point lost (int8)."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.errors import UsageError
from digitrec.export.runtime import OnnxClassifier
from digitrec.models.loading import load_model

FP32_MIN_AGREEMENT = 0.9995  # argmax agreement an fp32 export must reach against torch
INT8_MAX_DROP = 0.001  # accuracy an int8 export may lose against torch (0.1 point)


@dataclass
class Validation:
    """An exported file compared with the torch model it came from, digit by digit."""

    dataset: str
    split: str
    digits: int
    max_abs_logit_diff: float
    argmax_agreement: float  # fraction of digits where both pick the same class
    torch_accuracy: float
    onnx_accuracy: float
    accuracy_drop_points: float  # percentage points lost by the export (negative: gained)
    criterion: str
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def validate_onnx(
    onnx_path: Path,
    reference: str | Path,
    *,
    dataset: str = "mnist",
    split: str = "test",
    limit: int = 0,
    source: Path | None = None,
) -> Validation:
    """Compare the exported file's logits and answers with the torch model's on a whole split.

    Passes when fp32 answers agree on ≥ 99.95% of the digits, or int8 accuracy drops by ≤ 0.1
    point."""
    from digitrec import data
    from digitrec.models.torch_classifier import TorchClassifier
    from digitrec.preprocess import to_mnist_format

    torch_model = load_model(reference)
    if not isinstance(torch_model, TorchClassifier):
        raise UsageError(f"{reference}: only networks have an ONNX export to validate")
    onnx_model = OnnxClassifier(onnx_path)
    digits = data.load(dataset, split, source).limited(limit)
    images = to_mnist_format(digits.images, f"{dataset} {split}")
    expected = torch_model.logits(images).numpy()
    got = onnx_model.logits(images)
    labels = digits.labels
    torch_accuracy = float((expected.argmax(1) == labels).mean())
    onnx_accuracy = float((got.argmax(1) == labels).mean())
    agreement = float((expected.argmax(1) == got.argmax(1)).mean())
    drop = (torch_accuracy - onnx_accuracy) * 100
    if onnx_model.precision == "fp32":
        criterion = f"argmax agreement ≥ {FP32_MIN_AGREEMENT:.2%}"
        passed = agreement >= FP32_MIN_AGREEMENT
    else:
        criterion = f"accuracy drop ≤ {INT8_MAX_DROP * 100:.1f} point"
        passed = drop <= INT8_MAX_DROP * 100 + 1e-9
    return Validation(
        dataset,
        split,
        len(labels),
        float(np.abs(expected - got).max()) if len(labels) else 0.0,
        agreement,
        torch_accuracy,
        onnx_accuracy,
        drop,
        criterion,
        passed,
    )

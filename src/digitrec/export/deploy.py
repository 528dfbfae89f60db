"""`deploy()`: a model as a validated ONNX file in one call — export, optionally quantize to
int8 (dynamic, or static with calibration digits from the training split), then check the file
against the torch model on a whole split. What `digitrec export` runs."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitrec.errors import UsageError
from digitrec.export.onnx_export import (
    CALIBRATION_DIGITS,
    OPSET,
    calibration_digits,
    export_onnx,
    quantize_onnx,
)
from digitrec.export.validation import Validation, validate_onnx


@dataclass
class Deployment:
    model: str
    path: Path
    precision: str  # "fp32", "int8-dynamic" or "int8-static"
    size_bytes: int
    validation: Validation | None  # None when not asked for

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "out": str(self.path),
            "size_bytes": self.size_bytes,
            "precision": self.precision,
            "validation": self.validation.to_json() if self.validation else None,
        }


def deploy(
    spec: str | Path,
    out: Path,
    *,
    quantize: str | None = None,
    calibration: int = CALIBRATION_DIGITS,
    validate: bool = True,
    limit: int = 0,
    source: Path | None = None,
    opset: int = OPSET,
) -> Deployment:
    """Export `spec` to `out` (.onnx), quantized when asked, validated unless validate=False
    (on MNIST test, or its first `limit` digits). The file is written either way; whether it
    passed is in `validation.passed`."""
    if calibration < 1 or limit < 0:
        raise UsageError("--calibration must be ≥ 1 and --limit ≥ 0")
    if out.suffix != ".onnx":
        raise UsageError(f"--out must name a .onnx file, got {out}")
    path = export_onnx(spec, out, opset=opset)
    if quantize:
        digits = (
            calibration_digits(count=calibration, source=source) if quantize == "static" else None
        )
        path = quantize_onnx(path, out, quantize, calibration=digits)
    validation = validate_onnx(path, spec, limit=limit, source=source) if validate else None
    precision = f"int8-{quantize}" if quantize else "fp32"
    return Deployment(str(spec), path, precision, path.stat().st_size, validation)

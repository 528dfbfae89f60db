"""Deployment: ONNX export with validation against torch, int8 quantization (dynamic, or static
with calibration digits from the training split), and the ONNX Runtime backend.

    from digitrec.export import export_onnx, quantize_onnx, validate_onnx, load_classifier

    export_onnx("default", Path("default.onnx"))
    model = load_classifier("default", backend="onnx")   # a Classifier, like load_model's

Importing this package is cheap: onnx, onnxruntime and torch load with the function that needs
them (`pip install "digitrec[onnx]"`).
"""

from typing import Any

_LAZY = {
    "deploy": "digitrec.export.deploy",
    "export_onnx": "digitrec.export.onnx_export",
    "quantize_onnx": "digitrec.export.onnx_export",
    "validate_onnx": "digitrec.export.validation",
    "calibration_digits": "digitrec.export.onnx_export",
    "Validation": "digitrec.export.validation",
    "OnnxClassifier": "digitrec.export.runtime",
    "load_classifier": "digitrec.export.runtime",
    "BACKENDS": "digitrec.export.runtime",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'digitrec.export' has no attribute {name!r}")


__all__ = sorted(_LAZY)

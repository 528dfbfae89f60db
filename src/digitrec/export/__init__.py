"""Deployment: ONNX export with validation against torch, int8 quantization (dynamic, or static
with calibration digits from the training split), and the ONNX Runtime backend.

    from digitrec.export import export_onnx, quantize_onnx, validate_onnx, load_classifier

    export_onnx("default", Path("default.onnx"))
    model = load_classifier("default", backend="onnx")   # a Classifier, like load_model's

Importing this package is cheap: onnx, onnxruntime and torch load with the function that needs
them (`pip install "digitrec[onnx]"`).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

"""Names this package loads on first use (lazy_loader reads this stub; mypy types it)."""

from .deploy import deploy as deploy
from .onnx_export import calibration_digits as calibration_digits
from .onnx_export import export_onnx as export_onnx
from .onnx_export import quantize_onnx as quantize_onnx
from .runtime import BACKENDS as BACKENDS
from .runtime import OnnxClassifier as OnnxClassifier
from .runtime import load_classifier as load_classifier
from .validation import Validation as Validation
from .validation import validate_onnx as validate_onnx

"""Optional dependencies: imported only by the code that needs them, with a clear error if absent."""

import importlib
from types import ModuleType

from digitrec.errors import DigitrecError

# Which extra of `pip install "digitrec[EXTRA]"` provides each optional top-level module.
EXTRA_OF_MODULE = {
    "fastapi": "serve",
    "uvicorn": "serve",
    "pydantic_settings": "serve",
    "prometheus_client": "serve",
    "multipart": "serve",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "matplotlib": "plots",
    "pyarrow": "scale",
    "ray": "scale",
}


class MissingExtraError(DigitrecError):
    """An optional dependency is not installed."""


def require(module: str) -> ModuleType:
    """Import an optional module, or fail with the one line that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.partition(".")[0]
        extra = EXTRA_OF_MODULE.get(top)
        how = f'pip install "digitrec[{extra}]"' if extra else f"pip install {top}"
        raise MissingExtraError(f"this needs {top}, which is not installed: {how}") from error

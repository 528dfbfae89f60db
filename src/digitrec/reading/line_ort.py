"""The package's line reader under ONNX Runtime: its network as the graph `line_onnx` exports
(`line_reader.onnx`, beside the weights it was exported from, whose SHA-256 it records), so that
reading a number needs neither torch nor its second of start-up. The readings are the torch
reader's (tests/test_line_reader.py holds the two to the same log-probabilities and texts).
Used when onnxruntime is installed and the graph is the weights'; otherwise the torch reader is.
"""

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from digitrec.reading.line_model import LINE_STEM, LineReader
from digitrec.reading.line_shape import STRIDE, frame_count
from digitrec.storage import sha256_file

GRAPH = LINE_STEM.with_suffix(".onnx")
WEIGHTS_KEY = "digitrec_weights_sha256"  # metadata: the SHA-256 of the weights it came from


class OnnxLineReader(LineReader):
    """A LineReader whose network runs under ONNX Runtime, one line per run."""

    def __init__(self, graph: Path, card: dict[str, Any]) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a line is small: threads cost more than they give
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.graph = graph
        self.card = card
        self._input = self.session.get_inputs()[0].name

    def log_probs(self, images: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for image in images:
            frames = frame_count(image.shape[1])
            x = np.zeros((1, 1, image.shape[0], frames * STRIDE), np.float32)
            usable = min(frames * STRIDE, image.shape[1])
            x[0, 0, :, :usable] = image[:, :usable] / np.float32(255.0)
            out.append(self.session.run(None, {self._input: x})[0][0])
        return out


def packaged_onnx_reader(stem: Path = LINE_STEM) -> OnnxLineReader | None:
    """The package's reader (STEM.onnx, .safetensors and .json) under ONNX Runtime; None when
    onnxruntime is not installed or cannot load the graph, or there is no graph, or the graph
    is not of the weights."""
    graph, weights = stem.with_suffix(".onnx"), stem.with_suffix(".safetensors")
    if importlib.util.find_spec("onnxruntime") is None or not graph.is_file():
        return None
    try:
        reader = OnnxLineReader(graph, json.loads(stem.with_suffix(".json").read_text()))
    except Exception:  # an onnxruntime that cannot load (a broken install): torch reads instead
        return None
    recorded = reader.session.get_modelmeta().custom_metadata_map.get(WEIGHTS_KEY)
    if not weights.is_file() or recorded != sha256_file(weights):
        return None
    return reader

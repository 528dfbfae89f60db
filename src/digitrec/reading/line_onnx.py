"""The line reader as an ONNX graph for one line, which the web page runs in the browser with
ONNX Runtime Web: input "line" (1, 1, HEIGHT, W) float32 ink in [0, 1] with W a multiple of
STRIDE, output "log_probs" (1, W / STRIDE, 11): the network's forward pass without frame counts
(for one full line its masks and packed sequence change nothing). The settings the page needs to cut and decode a line ride along as metadata
("digitrec_line": HEIGHT, PAD, STRIDE, BLANK, MAX_WIDTH).

The graph comes from the TorchScript exporter: torch.export (the dynamo exporter) fixes the
sequence length of the LSTM to the example's, and a line's width varies.
"""

import json
import tempfile
import warnings
from pathlib import Path

import torch

from digitrec.export.browser import cached_onnx
from digitrec.export.onnx_export import OPSET
from digitrec.extras import require
from digitrec.reading.line_model import LineReader
from digitrec.reading.line_shape import BLANK, HEIGHT, MAX_WIDTH, PAD, STRIDE
from digitrec.storage import atomic_write_bytes

INPUT, OUTPUT = "line", "log_probs"


def settings() -> dict[str, int]:
    """What the page needs to cut a line image and decode the reader's output."""
    return {"height": HEIGHT, "pad": PAD, "stride": STRIDE, "blank": BLANK, "max_width": MAX_WIDTH}


def export_line_reader(
    reader: LineReader, out: Path, metadata: dict[str, str] | None = None
) -> Path:
    """Write `reader` as an ONNX graph for one line to `out` (atomically), checked by onnx, with
    `metadata` beside the settings."""
    require("onnx")
    import onnx

    module = reader.net.eval()
    example = torch.zeros(1, 1, HEIGHT, 24 * STRIDE)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own deprecation
        path = Path(scratch) / "line.onnx"
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {3: "width"}, OUTPUT: {1: "frames"}},
        )
        model = onnx.load(str(path))
    for key, value in {"digitrec_line": json.dumps(settings()), **(metadata or {})}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "digitrec"
    onnx.checker.check_model(model)
    atomic_write_bytes(out, model.SerializeToString())
    return out


def cached_line_reader(reader: LineReader) -> Path:
    """The ONNX graph of `reader`, made once (export.browser.cached_onnx). OSError when the
    cache cannot be written."""
    return cached_onnx("line", reader.net, lambda path: export_line_reader(reader, path))


def ship_graph() -> Path:
    """Write the package's reader as its graph for ONNX Runtime (`line_ort.GRAPH`), recording the
    SHA-256 of the weights it is exported from: run whenever a reader is shipped."""
    from digitrec.reading.line_model import LINE_STEM, load_line_reader
    from digitrec.reading.line_ort import GRAPH, WEIGHTS_KEY
    from digitrec.storage import sha256_file

    weights = sha256_file(LINE_STEM.with_suffix(".safetensors"))
    return export_line_reader(load_line_reader(), GRAPH, {WEIGHTS_KEY: weights})


if __name__ == "__main__":
    print(ship_graph())

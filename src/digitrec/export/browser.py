"""The models the web page runs in the browser with ONNX Runtime Web, exported once into a cache.

- The digit classifier (`export_browser_classifier`): the network wrapped so that its graph takes
  what the page has and gives what it shows: input "digits" (N, 1, 28, 28) float32 ink in [0, 1]
  (`normalize_digit`'s output / 255), output "probabilities" (N, classes), the calibrated softmax.
  Standardization and the card's temperature live inside the graph, not in JavaScript, so the
  browser's probabilities are `Classifier.predict_proba`'s.
- `cached_onnx`: the one cache of exported graphs ($DIGITREC_HOME/onnx), for this and the line
  reader (reading.line_onnx), keyed by the network's weights, how it is exported (opset,
  digitrec's version) and torch's version.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from digitrec.export.onnx_export import OPSET, export_module
from digitrec.home import digitrec_home
from digitrec.models.modelfile import MEAN, STD, ModelCard

if TYPE_CHECKING:
    import torch

DIGITS, PROBABILITIES = "digits", "probabilities"


def cached_onnx(
    kind: str, module: "torch.nn.Module", export: Callable[[Path], Path], baked: str = ""
) -> Path:
    """The ONNX graph of `module` made by `export(path)`, once: kept as
    $DIGITREC_HOME/onnx/KIND-<digest>-torch<version>.onnx, the digest also over `baked` (what
    else the graph holds: a classifier's calibration). OSError when it cannot be written."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    digest.update(f"opset{OPSET} digitrec{version('digitrec')} {baked}".encode())  # how it is made
    path = (
        digitrec_home() / "onnx" / f"{kind}-{digest.hexdigest()[:24]}-torch{version('torch')}.onnx"
    )
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        export(path)
    return path


def export_browser_classifier(module: "torch.nn.Module", card: ModelCard, out: Path) -> Path:
    """Write the page's graph of a classifier network (see the module's docstring) to `out`."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = module.eval()

        def forward(self, digits: torch.Tensor) -> torch.Tensor:
            logits = self.network((digits - MEAN) / STD)
            return torch.softmax(logits / card.temperature, dim=1)

    return export_module(Probabilities(), card, out, input_name=DIGITS, output_name=PROBABILITIES)


def cached_browser_classifier(module: "torch.nn.Module", card: ModelCard) -> Path:
    """`export_browser_classifier`'s graph of this network, made once (see `cached_onnx`)."""
    return cached_onnx(
        "classifier",
        module,
        lambda path: export_browser_classifier(module, card, path),
        baked=f"temperature={card.temperature!r}",
    )

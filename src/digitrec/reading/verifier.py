"""The segment verifier: a small CNN that looks at a candidate and says whether it is exactly one
whole digit — not a sliver cut from one, not a fragment of a broken one, not two touching ones.

Its input is two 28×28 views of the candidate: channel 0 the candidate normalized as a lone
digit (what the classifier sees), channel 1 the candidate where it stands, at the line's scale,
with its neighbours' ink dimmed (`segment.context_view`). It is trained by
`digitrec train-segmenter` on candidates from synthetic pages of MNIST *training* digits,
and stored like every digitrec model: safetensors weights with a JSON card, never pickle.
"""

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from digitrec.models.modelfile import MEAN, STD
from digitrec.reading.netfile import load_net, save_net

VERIFIER_STEM = Path(__file__).resolve().parent / "verifier"
KIND = "verifier"  # its kind of digitrec-model/1 file


class VerifierNet(nn.Module):
    def __init__(self, width: int = 24) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(
            *block(2, width),
            nn.MaxPool2d(2),  # 14×14
            *block(width, 2 * width),
            nn.MaxPool2d(2),  # 7×7
            *block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(4 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 2, 28, 28) float32 -> (B,) logits of 'exactly one whole digit'."""
        logits: torch.Tensor = self.head(self.features(x).flatten(1)).squeeze(1)
        return logits


def as_input(images: np.ndarray, contexts: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 twice -> (N, 2, 28, 28) float32, both standardized as MNIST is."""
    stacked = np.stack([images, contexts], axis=1).astype(np.float32) / 255.0
    return torch.from_numpy((stacked - MEAN) / STD)


class Verifier:
    def __init__(self, net: VerifierNet, card: dict[str, Any]) -> None:
        # channels_last: the layout torch's CPU convolutions and pooling are fastest in.
        self.net = net.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.card = card

    def logits(self, images: np.ndarray, contexts: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 views -> (N,) float64 logits of 'exactly one whole digit'."""
        if not len(images):
            return np.zeros(0)
        with torch.inference_mode():
            x = as_input(images, contexts).contiguous(memory_format=torch.channels_last)
            out: np.ndarray = self.net(x).double().numpy()
        return out


def save_verifier(net: VerifierNet, card: dict[str, Any], stem: Path = VERIFIER_STEM) -> None:
    save_net(net, card, stem, KIND, "verifier-net")


def load_verifier(stem: Path = VERIFIER_STEM) -> Verifier:
    card, state = load_net(stem, KIND, "digitrec train-segmenter")
    net = VerifierNet(**card.get("arguments", {}))
    net.load_state_dict(state, strict=True)
    return Verifier(net, card)

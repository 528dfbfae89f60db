"""digitrec's own architecture, in two widths: `fast` (16-32-64: 99% on MNIST in seconds of CPU)
and `default` (32-64-128: the shipped model). Both map (B, 1, 28, 28) standardized floats to
(B, 10) logits.

Design notes (measured on a 2-core CPU, see benchmarks/train_speed.py): on CPU the cost of a
small convnet is dominated by its full-resolution layers, so the first block is narrow and pools
right away; batch norm lets one epoch of one-cycle SGD reach 99%, and the wider `default`, trained
longer with augmentation and an EMA of its weights, reaches 99.6%. A deeper variant we tried (six
3×3 convs before a 4×4 one) cost 3× the time per epoch.
"""

import torch
from torch import nn


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class StackedConvNet(nn.Module):
    """Three conv-BN-ReLU-maxpool blocks (28 -> 14 -> 7 -> 3) and one linear layer."""

    FAST = (16, 32, 64)
    DEFAULT = (32, 64, 128)

    def __init__(self, widths: tuple[int, int, int] = FAST) -> None:
        super().__init__()
        a, b, c = widths
        self.features = nn.Sequential(
            conv_bn(1, a), nn.MaxPool2d(2),  # (B, a, 14, 14)
            conv_bn(a, b), nn.MaxPool2d(2),  # (B, b, 7, 7)
            conv_bn(b, c), nn.MaxPool2d(2),  # (B, c, 3, 3)
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * 9, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

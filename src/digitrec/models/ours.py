"""digitrec's own architectures: `fast` (99% on MNIST in seconds of CPU) and `default` (the shipped
model, ≥ 99.6%). Both map (B, 1, 28, 28) standardized floats to (B, 10) logits.

Design notes (measured on a 2-core CPU, see benchmarks/train_speed.py): on CPU the cost of a
small convnet is dominated by the full-resolution first layer, so `fast` keeps it narrow (16
channels) and pools right after; batch norm lets one epoch of one-cycle SGD reach 99%.
"""

import torch
from torch import nn


def conv_bn(
    cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FastNet(nn.Module):
    """Three conv-BN-ReLU-maxpool blocks (28 -> 14 -> 7 -> 3) and one linear layer."""

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
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


class DefaultNet(nn.Module):
    """Two stages of three 3×3 conv-BN-ReLU (the third strided), then a 4×4 conv to a 128-d
    code, dropout and a linear layer: the well-tested MNIST shape of stacked small convs."""

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), dropout: float = 0.3) -> None:
        super().__init__()
        a, b, c = widths
        self.features = nn.Sequential(
            conv_bn(1, a, padding=0), conv_bn(a, a, padding=0),  # (B, a, 24, 24)
            conv_bn(a, a, kernel=5, stride=2, padding=2), nn.Dropout(dropout),  # (B, a, 12, 12)
            conv_bn(a, b, padding=0), conv_bn(b, b, padding=0),  # (B, b, 8, 8)
            conv_bn(b, b, kernel=5, stride=2, padding=2), nn.Dropout(dropout),  # (B, b, 4, 4)
            conv_bn(b, c, kernel=4, padding=0),  # (B, c, 1, 1)
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

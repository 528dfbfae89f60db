"""digitrec's own architecture in two sizes: `fast` (16-32-64, one conv per stage: ~99% on MNIST in
seconds of CPU) and `default` (32-64-128, two convs in the last stage, dropout: the shipped
model). Both map (B, 1, 28, 28) standardized floats to (B, 10) logits.

Design notes (measured on a 2-core CPU, see benchmarks/train_speed.py): on CPU the cost of a
small convnet is dominated by its full-resolution layers, so the first block is narrow and pools
right away; batch norm lets one epoch of one-cycle SGD reach 99%, and the wider `default`, trained
longer with augmentation and an EMA of its weights, reaches 99.68% (3 seeds). Measured per epoch with
augmentation on 2 cores: 32-64-128 with one conv per stage 20.5 s; a second conv in the last stage
27.4 s, in the middle stage 33.1 s; a six-conv design with 26×26 valid convs 61 s. (32-64-128
with one conv per stage, 30 epochs, reached 99.58 / 99.63 / 99.57% test at seeds 0-2.)
"""

from typing import Any, ClassVar

import torch
from torch import nn


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class StackedConvNet(nn.Module):
    """One conv-BN-ReLU-maxpool stage per width (28 -> 14 -> 7 -> 3 -> 1), the last with
    `deep_convs` convs, then dropout and one linear layer. `fast` and `default` have three stages
    (with three widths the layers and their names are those of the original three-stage net); the
    hidden-layers study gives 1 to 4."""

    FAST: ClassVar[dict[str, Any]] = {"widths": (16, 32, 64)}
    DEFAULT: ClassVar[dict[str, Any]] = {"widths": (32, 64, 128), "deep_convs": 2, "dropout": 0.3}

    def __init__(
        self, widths: tuple[int, ...] = (16, 32, 64), deep_convs: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if not 1 <= len(widths) <= 4 or deep_convs < 1 or not 0 <= dropout < 1:
            raise ValueError("1 to 4 widths, deep_convs ≥ 1 and dropout in [0, 1)")
        layers: list[nn.Module] = []
        channels = 1
        for stage, width in enumerate(widths):
            convs = deep_convs if stage == len(widths) - 1 else 1
            layers += [conv_bn(channels, width)] + [conv_bn(width, width) for _ in range(convs - 1)]
            layers.append(nn.MaxPool2d(2))  # side 28 -> 14 -> 7 -> 3 -> 1
            channels = width
        self.features = nn.Sequential(*layers)
        side = 28 >> len(widths)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * side * side, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def separable_bn(cin: int, cout: int) -> nn.Sequential:
    """Depthwise 3×3 then pointwise 1×1, each with batch norm and ReLU: the 3×3's parameters
    drop from 9·cin·cout to 9·cin + cin·cout."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SeparableConvNet(nn.Module):
    """The distilled `student` (under 20,000 parameters): the stacked net's first two stages as
    full 3×3 convs (28 -> 14 -> 7), then `deep_convs` depthwise-separable blocks at 7×7, a pool to
    3×3, dropout and one linear layer.

    Design: full convs are kept where the image is large and the channels few (the first two cost
    9·a + 9·a·b parameters); at 7×7, where full 3×3 convs at 64 channels would cost 37,000
    parameters each, separable blocks give the width for a tenth of that. Compute stays at about
    1.4 M multiply-adds per digit, most of it in the 14×14 conv."""

    STUDENT: ClassVar[dict[str, Any]] = {"widths": (16, 32, 64), "deep_convs": 2, "dropout": 0.1}

    def __init__(
        self, widths: tuple[int, int, int] = (16, 32, 64), deep_convs: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        a, b, c = widths
        if deep_convs < 1 or not 0 <= dropout < 1:
            raise ValueError("deep_convs must be ≥ 1 and dropout in [0, 1)")
        deep = [separable_bn(b, c)] + [separable_bn(c, c) for _ in range(deep_convs - 1)]
        self.features = nn.Sequential(
            conv_bn(1, a), nn.MaxPool2d(2),  # (B, a, 14, 14)
            conv_bn(a, b), nn.MaxPool2d(2),  # (B, b, 7, 7)
            *deep, nn.MaxPool2d(2),  # (B, c, 3, 3)
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c * 9, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

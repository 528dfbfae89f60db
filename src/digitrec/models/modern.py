"""ResNet-18, a small DenseNet and a MobileNet variant, adapted to 28×28 grayscale digits.

The ImageNet stems (7×7 stride-2 convolution, max-pool) would shrink a 28×28 digit to 7×7 before the
first block, so each uses a 3×3 stride-1 stem instead.
"""

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )  # fmt: skip
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016): four stages of two basic blocks, 64/128/256/512 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        stages: list[nn.Module] = []
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):  # 28 → 28 → 14 → 7 → 4
            stages += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class DenseNet(nn.Module):
    """A small DenseNet-BC (Huang et al. 2017): three dense blocks of 6 bottleneck layers, growth 12,
    transitions halving channels and resolution (28 → 14 → 7)."""

    def __init__(self, growth: int = 12, layers_per_block: int = 6) -> None:
        super().__init__()
        channels = 2 * growth
        parts: list[nn.Module] = [nn.Conv2d(1, channels, 3, 1, 1, bias=False)]
        for block in range(3):
            for _ in range(layers_per_block):
                parts.append(DenseLayer(channels, growth))
                channels += growth
            if block < 2:
                parts += [
                    nn.BatchNorm2d(channels), nn.ReLU(),
                    nn.Conv2d(channels, channels // 2, 1, bias=False), nn.AvgPool2d(2),
                ]  # fmt: skip
                channels //= 2
        parts += [nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*parts)
        self.classifier = nn.Linear(channels, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def separable(cin: int, cout: int, stride: int, batch_norm: bool = True) -> nn.Sequential:
    """Depthwise 3×3 then pointwise 1×1, each with batch norm and ReLU (Howard et al. 2017);
    without batch norm (the ablation study) each convolution has a bias instead."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=not batch_norm), _norm(cin, batch_norm),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=not batch_norm), _norm(cout, batch_norm), nn.ReLU(),
    )  # fmt: skip


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class MobileNet(nn.Module):
    """Agrahari et al.'s modified MobileNet: depthwise-separable convolutions, grayscale input,
    only two downsamplings (28 → 14 → 7), and an optional auxiliary classifier on the 14×14
    features whose logits `forward_with_aux` returns for an auxiliary loss during training.
    `dropout` and `batch_norm` exist so the ablation study can remove them."""

    def __init__(
        self, auxiliary: bool = True, dropout: float = 0.2, batch_norm: bool = True
    ) -> None:
        super().__init__()
        bn = batch_norm
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=not bn), _norm(32, bn), nn.ReLU())
        self.early = nn.Sequential(
            separable(32, 64, 1, bn), separable(64, 128, 2, bn), separable(128, 128, 1, bn)
        )
        self.late = nn.Sequential(
            separable(128, 256, 2, bn), separable(256, 256, 1, bn), separable(256, 512, 1, bn)
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(512, 10)
        )
        self.aux_head: nn.Module | None = None
        if auxiliary:
            self.aux_head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        middle = self.early(self.stem(x))  # (B, 128, 14, 14)
        aux = self.aux_head(middle) if self.aux_head is not None else None
        return self.head(self.late(middle)), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]

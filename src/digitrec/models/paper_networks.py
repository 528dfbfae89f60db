"""The seed papers' networks, for 28×28 grayscale input and 10 classes.

Every model maps (B, 1, 28, 28) float32 (ink bright, scaled to [0, 1] and standardized by the
caller) to (B, 10) logits.
"""

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected, hidden layers as given (the papers' "ANN with varying hidden layers")."""

    def __init__(self, hidden: tuple[int, ...] = (512, 256), dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = 28 * 28
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998): the 32×32 input is had by padding 28×28 by 2; tanh and
    average-pool subsampling as in the paper, with full C3 connectivity."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),  # (B, 6, 14, 14)
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),  # (B, 16, 5, 5)
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
            nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class CNNSmall(nn.Module):
    """conv32-3×3 → pool → conv64-3×3 → pool → FC128 → dropout 0.5 (Al-Bayati, 99.03%)."""

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 13, 13)
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 5, 5)
            nn.Flatten(),
            nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(128, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNNWide(nn.Module):
    """conv128 → pool → conv128 → pool → FC64 (Nagpal et al.: 354,378 parameters, 99.37%)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 128, 3), nn.ReLU(), nn.MaxPool2d(2),  # (B, 128, 13, 13)
            nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),  # (B, 128, 5, 5)
            nn.Flatten(),
            nn.Linear(128 * 5 * 5, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNNDeep(nn.Module):
    """Four 3×3 convs 32/64/128/256 with batch norm, dropout 0.2, pooling after the 2nd and 4th,
    FC512 (Tonape & Satarkar)."""

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *block(1, 32), nn.Dropout(dropout),
            *block(32, 64), nn.MaxPool2d(2),  # (B, 64, 14, 14)
            *block(64, 128),
            *block(128, 256), nn.MaxPool2d(2),  # (B, 256, 7, 7)
            nn.Flatten(),
            nn.Linear(256 * 7 * 7, 512), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(512, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PyTorchExampleNet(nn.Module):
    """The network of PyTorch's official MNIST example (pytorch/examples mnist/main.py): two 3×3
    convs 32 and 64, max-pool, dropout 0.25, FC128, dropout 0.5. A peer in our benchmark."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),  # (B, 64, 24, 24)
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),  # (B, 9216)
            nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

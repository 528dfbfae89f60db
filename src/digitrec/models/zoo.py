"""The model registry: a plain dict, name -> how to build it and where it comes from."""

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from digitrec.models.modern import DenseNet, MobileNet, ResNet18
from digitrec.models.papers import MLP, CNNDeep, CNNSmall, CNNWide, LeNet5


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[[], nn.Module]
    source: str


MODELS: dict[str, ModelEntry] = {
    "mlp": ModelEntry(MLP, "the papers' ANN with hidden layers (here 512, 256)"),
    "lenet5": ModelEntry(LeNet5, "LeCun et al. 1998"),
    "cnn-small": ModelEntry(CNNSmall, "Al-Bayati (99.03%)"),
    "cnn-wide": ModelEntry(CNNWide, "Nagpal et al. report (354,378 params, 99.37%)"),
    "cnn-deep": ModelEntry(CNNDeep, "Tonape & Satarkar"),
    "resnet18": ModelEntry(ResNet18, "He et al. 2016, 28×28 stem"),
    "densenet": ModelEntry(DenseNet, "Huang et al. 2017, small DenseNet-BC"),
    "mobilenet": ModelEntry(
        MobileNet, "Agrahari et al. (modified MobileNet, auxiliary classifier)"
    ),
}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

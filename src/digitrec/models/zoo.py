"""The model registry: a plain dict, name -> how to build it and where it comes from."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from torch import nn

from digitrec.errors import UsageError
from digitrec.models.modern import DenseNet, MobileNet, ResNet18
from digitrec.models.ours import SeparableConvNet, StackedConvNet
from digitrec.models.paper_networks import (
    MLP,
    CNNDeep,
    CNNSmall,
    CNNWide,
    LeNet5,
    PyTorchExampleNet,
)


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., nn.Module]
    source: str


MODELS: dict[str, ModelEntry] = {
    "mlp": ModelEntry(MLP, "the papers' ANN with hidden layers (--hidden, default 512,256)"),
    "lenet5": ModelEntry(LeNet5, "LeCun et al. 1998"),
    "cnn-small": ModelEntry(CNNSmall, "Al-Bayati (99.03%)"),
    "cnn-wide": ModelEntry(CNNWide, "Nagpal et al. report (354,378 params, 99.37%)"),
    "cnn-deep": ModelEntry(CNNDeep, "Tonape & Satarkar"),
    "resnet18": ModelEntry(ResNet18, "He et al. 2016, 28×28 stem"),
    "densenet": ModelEntry(DenseNet, "Huang et al. 2017, small DenseNet-BC"),
    "mobilenet": ModelEntry(
        MobileNet, "Agrahari et al. (modified MobileNet, auxiliary classifier)"
    ),
    "pytorch-example": ModelEntry(PyTorchExampleNet, "PyTorch's official MNIST example (a peer)"),
    "fast": ModelEntry(
        partial(StackedConvNet, **StackedConvNet.FAST), "digitrec: aims at 99% in seconds on a CPU"
    ),
    "default": ModelEntry(
        partial(StackedConvNet, **StackedConvNet.DEFAULT), "digitrec: the shipped model"
    ),
    "student": ModelEntry(
        partial(SeparableConvNet, **SeparableConvNet.STUDENT),
        "digitrec: under 20,000 parameters, distilled from default",
    ),
}


def build_model(name: str, arguments: dict[str, Any] | None = None) -> nn.Module:
    """A fresh model from the registry; arguments are its builder's keyword arguments (JSON-able:
    lists are turned into the tuples the builders take)."""
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in (arguments or {}).items()}
    try:
        return MODELS[name].build(**kwargs)
    except (TypeError, ValueError) as error:
        raise UsageError(f"model {name}: bad arguments {arguments} ({error})") from None


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

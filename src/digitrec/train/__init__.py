"""Training: the config dataclass, recipes, batched augmentation, the explicit loop, checkpoints.

Usage: `digitrec.train.train(TrainConfig(model="cnn-small", epochs=3), Path("runs/cnn"))`.
Importing this package is cheap; torch loads with the loop, on first use of `train`.
"""

from typing import Any

from digitrec.train.config import TrainConfig
from digitrec.train.recipes import RECIPES, Recipe


def __getattr__(name: str) -> Any:
    if name == "train":
        from digitrec.train import loop

        return loop.train
    if name == "TrainResult":
        from digitrec.train import result

        return result.TrainResult
    raise AttributeError(f"module 'digitrec.train' has no attribute {name!r}")


__all__ = ["RECIPES", "Recipe", "TrainConfig", "TrainResult", "train"]

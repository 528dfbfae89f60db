"""Training: the config dataclass, recipes, batched augmentation, the explicit loop, checkpoints.

Usage: `digitrec.train.train(TrainConfig(model="cnn-small", epochs=3), Path("runs/cnn"))`.
"""

from digitrec.train.config import TrainConfig
from digitrec.train.loop import TrainResult, train
from digitrec.train.recipes import RECIPES, Recipe

__all__ = ["RECIPES", "Recipe", "TrainConfig", "TrainResult", "train"]

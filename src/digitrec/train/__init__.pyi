"""Names this package loads on first use (lazy_loader reads this stub; mypy types it)."""

from .config import TrainConfig as TrainConfig
from .loop import train as train
from .recipes import RECIPES as RECIPES
from .recipes import Recipe as Recipe
from .result import TrainResult as TrainResult

"""Training: the config dataclass, recipes, batched augmentation, the explicit loop, checkpoints.

Usage: `digitrec.train.train(TrainConfig(model="cnn-small", epochs=3), Path("runs/cnn"))`.
Importing this package is cheap; torch loads with the loop, on first use of `train`.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

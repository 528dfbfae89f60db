"""Every hyperparameter of a training run, in one typed dataclass with units and reasons.

The CLI and recipes build a `TrainConfig`; nothing in training reads globals or environment. The
whole config is saved as `config.json` next to the run's results.
"""

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from digitrec.data.splits import Scheme
from digitrec.errors import UsageError

OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
SCHEDULES = ("constant", "step", "cosine", "onecycle")


@dataclass
class TrainConfig:
    model: str = "cnn-small"  # a key of models.zoo.MODELS or baselines.BASELINES
    model_args: dict[str, Any] = field(default_factory=dict)  # builder kwargs, e.g. hidden
    dataset: str = "mnist"  # a dataset spec (see digitrec.data)
    scheme: Scheme = "standard"  # split scheme: standard (55k/5k/10k) or 80-10-10
    seed: int = 0  # weights, data order, augmentation, dropout
    epochs: float = 10.0  # passes over the training split; fractions allowed (fast recipe)
    batch_size: int = 64
    optimizer: str = "adam"  # adam | adamw | sgd | adadelta
    lr: float = 1e-3  # peak learning rate
    momentum: float = 0.9  # sgd momentum; also adam's beta1
    nesterov: bool = False  # sgd only
    weight_decay: float = 0.0  # L2 (decoupled for adamw)
    schedule: str = "constant"  # constant | step | cosine | onecycle
    step_gamma: float = 0.7  # step schedule: lr multiplier after each epoch
    warmup: float = 0.25  # onecycle: fraction of steps spent rising to the peak
    label_smoothing: float = 0.0
    augment: str = "none"  # none | light | medium | strong (train.augment.AUGMENTATIONS)
    # Share of training images given noisy MNIST's noise or blur (train.augment.add_noise); 0 = off
    noise: float = 0.0
    ema: float = 0.0  # decay of an exponential moving average of weights; 0 = off
    aux_weight: float = 0.3  # loss weight of an auxiliary classifier head, if the model has one
    early_stopping: int = 0  # stop after this many epochs without a better val accuracy; 0 = off
    limit: int = 0  # use N random digits of the train and of the val split (smoke runs); 0 = all
    max_steps: int = 0  # cap the run at N optimizer steps, schedule fitted to them; 0 = no cap
    target_acc: float = 0.0  # fail unless the final validation accuracy reaches this fraction
    threads: int = 0  # torch CPU threads; 0 = every core
    # Also measure the test split after every epoch, for learning curves and time-to-accuracy
    # benchmarks only: no choice (early stopping, best epoch) ever looks at it.
    report_test: bool = False
    recipe: str = ""  # the recipe these values came from, if any (informational)
    # Start from this model's weights (a run directory or model file of the same architecture and
    # arguments: fine-tuning, e.g. MNIST -> USPS); "" = random initial weights
    init: str = ""

    def __post_init__(self) -> None:
        from digitrec.train.augment import AUGMENTATIONS

        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.augment in AUGMENTATIONS, f"augment must be one of {', '.join(AUGMENTATIONS)}"),
            (self.scheme in ("standard", "80-10-10"), "scheme must be standard or 80-10-10"),
            (math.isfinite(self.epochs) and 0 < self.epochs <= 1000, "epochs must be in (0, 1000]"),
            (1 <= self.batch_size <= 65536, "batch size must be in 1..65536"),
            (math.isfinite(self.lr) and 0 < self.lr <= 10, "learning rate must be in (0, 10]"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (not self.nesterov or self.momentum > 0, "Nesterov momentum needs --momentum > 0"),
            (0 <= self.weight_decay < 1, "weight decay must be in [0, 1)"),
            (0 < self.step_gamma <= 1, "step gamma must be in (0, 1]"),
            (0 < self.warmup < 1, "warmup must be in (0, 1)"),
            (0 <= self.label_smoothing < 1, "label smoothing must be in [0, 1)"),
            (0 <= self.noise <= 1, "noise is a share of the training images, in [0, 1]"),
            (0 <= self.ema < 1, "ema decay must be in [0, 1)"),
            (self.aux_weight >= 0, "aux weight must be ≥ 0"),
            (self.early_stopping >= 0, "early stopping patience must be ≥ 0"),
            (self.limit >= 0 and self.max_steps >= 0, "limit and max steps must be ≥ 0"),
            (0 <= self.target_acc <= 1, "target accuracy is a fraction in [0, 1]"),
            (0 <= self.threads <= 256, "threads must be in 0..256"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**values)

"""Names this package loads on first use (lazy_loader reads this stub; mypy types it)."""

from .distill import DistillConfig as DistillConfig
from .distill import DistillResult as DistillResult
from .distill import distill as distill
from .prune import PruneConfig as PruneConfig
from .prune import PruneResult as PruneResult
from .prune import prune as prune

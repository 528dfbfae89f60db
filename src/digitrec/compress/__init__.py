"""Making networks smaller: magnitude pruning (unstructured and channel-level) with fine-tuning,
and knowledge distillation into a small student.

    from digitrec.compress import PruneConfig, prune, distill, DistillConfig

Importing this package is cheap; torch loads with the function that needs it.
"""

from typing import Any

_LAZY = {
    "prune": "digitrec.compress.prune",
    "PruneConfig": "digitrec.compress.prune",
    "PruneResult": "digitrec.compress.prune",
    "distill": "digitrec.compress.distill",
    "DistillResult": "digitrec.compress.distill",
    "DistillConfig": "digitrec.train.objective",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'digitrec.compress' has no attribute {name!r}")


__all__ = sorted(_LAZY)

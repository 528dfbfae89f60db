"""Making networks smaller: magnitude pruning (unstructured and channel-level) with fine-tuning,
and knowledge distillation into a small student.

    from digitrec.compress import PruneConfig, prune, distill, DistillConfig

Importing this package is cheap; torch loads with the function that needs it.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

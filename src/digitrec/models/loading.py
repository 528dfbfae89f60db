"""Loading a model file as a `Classifier`, whichever kind it is: a network (`torch_classifier`)
or a classic baseline (`baselines`). Above both: neither imports this module.
"""

from pathlib import Path

from digitrec.errors import DataError
from digitrec.models.modelfile import Classifier, read_model


def load_model(spec: str | Path = "default") -> Classifier:
    """Load any model file, neural or classic, as a `Classifier`.

    spec: "default" (the model shipped with digitrec), a run directory, or a model file path."""
    card, arrays = read_model(spec)
    if card.kind == "torch":
        from digitrec.models.torch_classifier import TorchClassifier

        return TorchClassifier.from_arrays(card, arrays)
    if card.kind == "baseline":
        from digitrec.baselines import load_baseline

        return load_baseline(card, arrays)
    raise DataError(f"{spec}: unknown model kind {card.kind!r}")

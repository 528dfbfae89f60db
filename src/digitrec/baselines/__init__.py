"""The classic baselines: SVM, k-NN, decision tree, random forest, logistic regression, and an SVM
on a trained CNN's features. scikit-learn fits them; NumPy predicts with them.

A fitted baseline is NumPy arrays (support vectors, tree tables, coefficients, ...) plus a card,
saved with `models.modelfile.save_model` like any model. Nothing is pickled: each model's
prediction is re-implemented in NumPy from its arrays (tests check it against scikit-learn's), so
loading a baseline file runs no code from it and does not import scikit-learn.

    from digitrec.data import load
    baseline = fit_baseline("svm", {"C": 5}, load("mnist", "train"), seed=0)
    save_model(Path("runs/svm/model"), baseline.arrays(), baseline.card)
    load_model("runs/svm").predict_proba(images)  # (N, 10) float32

Feature maps (pixels, pca, hog, cnn) live in `features`; argument rules in `arguments`.
"""

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitrec.baselines.arguments import resolve_arguments
from digitrec.baselines.base import Baseline
from digitrec.baselines.features import fit_features, load_features, transform
from digitrec.baselines.knn import KNNBaseline
from digitrec.baselines.logreg import LogRegBaseline
from digitrec.baselines.svm import SVMBaseline
from digitrec.baselines.trees import ForestBaseline
from digitrec.data.digitset import DigitSet
from digitrec.errors import DataError, UsageError
from digitrec.models.modelfile import ModelCard


@dataclass(frozen=True)
class BaselineEntry:
    summary: str  # one line for `digitrec models`
    defaults: dict[str, Any]  # every argument the baseline takes, with its default (JSON-able)
    model: type[Baseline] = field(repr=False)  # the class that fits, holds and predicts it


# Defaults chosen on the 5,000 validation digits after fitting on the 55,000 training digits (2
# CPU cores); summaries give MNIST test accuracy. `components` only matters when features is pca.
#   svm: PCA-50 ties HOG on validation (98.5%) and fits 3× faster (16 s vs 53 s), pixels are
#        worse and slowest; C 5 or 10 alike; gamma 2× "scale" adds 0.2% for 1.7× the fit time.
#   knn: 30, 40 or 50 PCA components, k 3 or 4, weighted or not: all 97.5–97.7%; 30 is the
#        smallest file. Pixels: 97.1% and 4× the predict time.
#   logreg: C 0.1 and 1 both reach 92.5%; 0.1 converges in half the lbfgs steps.
BASELINES: dict[str, BaselineEntry] = {
    "svm": BaselineEntry(
        "RBF support vector machine on 50 PCA components (98.6%); features pca | hog | pixels",
        {"features": "pca", "components": 50, "C": 10, "gamma": "scale"},
        SVMBaseline,
    ),
    "knn": BaselineEntry(
        "3 nearest neighbours, distance-weighted, on 30 PCA components (97.5%)",
        {"features": "pca", "components": 30, "k": 3, "weights": "distance"},
        KNNBaseline,
    ),
    "decision-tree": BaselineEntry(
        "one decision tree (Gini, grown until pure) on pixels (87.8%)",
        {"features": "pixels", "components": 50, "max_depth": None},
        ForestBaseline,
    ),
    "random-forest": BaselineEntry(
        "random forest of 100 trees on pixels (96.9%)",
        {"features": "pixels", "components": 50, "n_estimators": 100, "max_depth": None},
        ForestBaseline,
    ),
    "logreg": BaselineEntry(
        "multinomial logistic regression on pixels / 255 (92.5%)",
        {"features": "pixels", "components": 50, "C": 0.1},
        LogRegBaseline,
    ),
    "cnn-svm": BaselineEntry(
        "RBF SVM on a trained CNN's penultimate features (argument cnn, default: default)",
        {"cnn": "default", "C": 10, "gamma": "scale"},
        SVMBaseline,
    ),
}


def fit_baseline(name: str, arguments: dict[str, Any], train: DigitSet, seed: int) -> Baseline:
    """Fit baseline `name` (a key of BASELINES) on a training set.

    arguments: any of the baseline's defaults to override; unknown or bad ones raise UsageError.
    train.images: (N, 28, 28) uint8 ink bright; every class of train.classes must occur."""
    baseline, _estimator = fit_with_estimator(name, arguments, train, seed)
    return baseline


def fit_with_estimator(
    name: str, arguments: dict[str, Any], train: DigitSet, seed: int
) -> tuple[Baseline, Any]:
    """`fit_baseline`, also returning the fitted scikit-learn estimator the baseline's arrays were
    exported from (the reference its predictions are tested against)."""
    entry = _entry(name)
    resolved = resolve_arguments(name, entry.defaults, arguments)
    counts = train.class_counts()
    if train.image_shape != (28, 28) or counts.min() == 0:
        missing = [train.classes[c] for c in np.flatnonzero(counts == 0)]
        raise DataError(
            f"{name}: needs 28×28 digits of every class; got {train.image_shape} "
            f"images, no examples of {', '.join(missing) or 'none'}"
        )
    start = time.perf_counter()
    features = fit_features(resolved, train.images, seed)
    train_features = transform(features, train.images)  # (N, D) float32
    estimator = entry.model.estimator(resolved, train_features, seed)
    # float64, so every estimator computes in the precision its NumPy re-implementation does
    estimator.fit(train_features.astype(np.float64), train.labels)
    arrays = entry.model.export(estimator, features, train_features, train.labels)
    card = ModelCard(
        kind="baseline",
        architecture=name,
        arguments={**resolved, **features.card_arguments()},
        classes=train.classes,
        training={
            "dataset": train.name,
            "split": train.split,
            "examples": len(train),
            "seed": seed,
            "fit_seconds": round(time.perf_counter() - start, 2),
        },
    )
    return entry.model(card, features, arrays), estimator


def load_baseline(card: ModelCard, arrays: dict[str, np.ndarray]) -> Baseline:
    """Rebuild a fitted baseline from its card and arrays (as `models.modelfile.read_model` gives)."""
    if card.architecture not in BASELINES:
        raise DataError(
            f"unknown baseline {card.architecture!r} in model card; known: {', '.join(BASELINES)}"
        )
    try:
        features = load_features(card.arguments, arrays)
        return BASELINES[card.architecture].model(card, features, arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(
            f"{card.architecture} model card or arrays are malformed ({error})"
        ) from None


def _entry(name: str) -> BaselineEntry:
    if name not in BASELINES:
        raise UsageError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    return BASELINES[name]


__all__ = ["BASELINES", "Baseline", "BaselineEntry", "fit_baseline", "load_baseline"]

"""`Baseline`: a fitted classic model as plain NumPy arrays, a feature map followed by a classifier
on its features, and the steps every baseline shares: checking digits, predicting in bounded
chunks, exporting its arrays.

A subclass says how to configure its scikit-learn estimator (`estimator`), which of the fitted
estimator's arrays to keep (`export`), and how to predict from those arrays alone (`__init__`,
`proba_from_features`). Fitting exports the estimator's arrays and builds the baseline from them,
the very path loading takes, so a loaded baseline is the fitted one.
"""

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from digitrec.baselines.features import FeatureMap
from digitrec.models.modelfile import ModelCard

CHUNK = 256  # digits per step of predict_proba; bounds memory (k-NN holds (256, 4096) distances)


class Baseline(ABC):
    """A classic model behind the `Classifier` interface: uint8 digits in, probabilities out."""

    def __init__(
        self, card: ModelCard, features: FeatureMap, arrays: dict[str, np.ndarray]
    ) -> None:
        """arrays: what `export` gave (a subclass reads its own and calls this first)."""
        self.card = card  # kind "baseline", architecture its BASELINES name
        self.features = features

    @staticmethod
    @abstractmethod
    def estimator(arguments: dict[str, Any], train_features: np.ndarray, seed: int) -> Any:
        """The unfitted scikit-learn estimator the arguments describe."""

    @staticmethod
    @abstractmethod
    def export(
        estimator: Any, features: FeatureMap, train_features: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The arrays of a fitted estimator that prediction needs (names without the features')."""

    @abstractmethod
    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        """(n, D) float32 features -> (n, C) float64 class probabilities."""

    @abstractmethod
    def classifier_arrays(self) -> dict[str, np.ndarray]:
        """What `export` gave, as held by this baseline."""

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) uint8, ink bright -> (N, C) float32, rows summing to 1."""
        check_images(images)
        probabilities = np.empty((len(images), len(self.card.classes)), np.float32)
        for start in range(0, len(images), CHUNK):
            features = self.features(images[start : start + CHUNK])
            probabilities[start : start + CHUNK] = self.proba_from_features(features)
        return probabilities

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 -> (N,) int64 class indices."""
        indices: np.ndarray = np.argmax(self.predict_proba(images), axis=1)
        return indices

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild this baseline with `load_baseline(card, arrays)`."""
        return {**self.features.arrays(), **self.classifier_arrays()}


def check_images(images: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected (N, 28, 28) uint8 digits, got {images.dtype} {images.shape}")


def softmax(scores: np.ndarray) -> np.ndarray:
    """(n, C) -> (n, C) float64, rows summing to 1."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result

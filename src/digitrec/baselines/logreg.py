"""Multinomial logistic regression (`logreg`): scikit-learn's LogisticRegression (L2, lbfgs),
predicted here as softmax(x Wᵀ + b) from its coefficients and intercepts."""

from typing import Any

import numpy as np

from digitrec.baselines.base import Baseline, softmax
from digitrec.baselines.features import FeatureMap, required
from digitrec.errors import DataError
from digitrec.models.modelfile import ModelCard

MAX_ITER = 1000  # lbfgs steps; C = 0.1 converges in 126 on 55,000 digits, C = 1 in 259


class LogRegBaseline(Baseline):
    def __init__(
        self, card: ModelCard, features: FeatureMap, arrays: dict[str, np.ndarray]
    ) -> None:
        super().__init__(card, features, arrays)
        self.coef = required(arrays, "logreg.coef").astype(np.float64)  # (C, D)
        self.intercept = required(arrays, "logreg.intercept").astype(np.float64)  # (C,)
        if self.coef.shape[0] != len(card.classes) or self.intercept.shape != (len(card.classes),):
            raise DataError("logreg arrays do not fit the card's classes; the file is damaged")

    @staticmethod
    def estimator(arguments: dict[str, Any], train_features: np.ndarray, seed: int) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=float(arguments["C"]), max_iter=MAX_ITER, random_state=seed)

    @staticmethod
    def export(
        estimator: Any, features: FeatureMap, train_features: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        return {
            "logreg.coef": estimator.coef_.astype(np.float64),
            "logreg.intercept": estimator.intercept_.astype(np.float64),
        }

    def classifier_arrays(self) -> dict[str, np.ndarray]:
        return {"logreg.coef": self.coef, "logreg.intercept": self.intercept}

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        return softmax(features.astype(np.float64) @ self.coef.T + self.intercept)

"""RBF support vector machine (`svm`, `cnn-svm`): fitted by scikit-learn's SVC (libsvm), predicted
here from its support vectors, dual coefficients and intercepts.

Prediction is libsvm's one-vs-one scheme. For each pair of classes i < j,

    d_ij(x) = Σ_{s ∈ class i} α_s^(j) K(s, x) + Σ_{s ∈ class j} α_s^(i) K(s, x) + b_ij,
    K(s, x) = exp(−γ ‖s − x‖²),

and d_ij ≥ 0 is a vote for i, else for j. As SVC(break_ties=True) does, a class scores its votes
plus f(Σ_j ±d_cj), its summed confidence squashed by f(t) = t / (3 (|t| + 1)) into (−1/3, 1/3): the
confidence only breaks ties between equal vote counts (scikit-learn's `_ovr_decision_function`),
and argmax of the scores is `SVC.predict`.

Probabilities are softmax(scores / TEMPERATURE). They rank the classes as the SVM's votes do and
their argmax is its prediction, but they are scores, not calibrated probabilities (Platt scaling
would cost five more fits and can disagree with the votes).
"""

from typing import Any

import numpy as np

from digitrec.baselines.base import Baseline, softmax
from digitrec.baselines.features import FeatureMap, required
from digitrec.errors import DataError
from digitrec.models.modelfile import ModelCard

# One vote is worth 1 / TEMPERATURE in logits. Fitted on the 55,000 training digits, 0.25 gave the
# lowest log loss on the 5,000 validation digits for svm on PCA-50 (0.093) and on HOG (0.086), and
# nearly the lowest for cnn-svm (0.040; 0.038 at 0.2).
TEMPERATURE = 0.25
CACHE_MB = 1000  # libsvm's kernel cache; the default 200 MB slows fits on 55,000 digits


class SVMBaseline(Baseline):
    def __init__(
        self, card: ModelCard, features: FeatureMap, arrays: dict[str, np.ndarray]
    ) -> None:
        super().__init__(card, features, arrays)
        self.support_vectors = required(arrays, "svm.support_vectors").astype(np.float32)
        self.dual_coef = required(arrays, "svm.dual_coef").astype(np.float64)  # (C-1, S)
        self.intercept = required(arrays, "svm.intercept").astype(np.float64)  # (C(C-1)/2,)
        self.n_support = required(arrays, "svm.n_support").astype(np.int64)  # (C,)
        self.gamma = float(required(arrays, "svm.gamma")[0])
        classes = len(self.n_support)
        if (
            classes != len(card.classes)
            or self.dual_coef.shape != (classes - 1, len(self.support_vectors))
            or self.intercept.shape != (classes * (classes - 1) // 2,)
            or self.n_support.sum() != len(self.support_vectors)
        ):
            raise DataError("svm arrays do not fit together; the model file is damaged")
        # pair k = (first[k], second[k]) in libsvm's order (0,1), (0,2), ..., (C-2, C-1)
        self.first, self.second = np.triu_indices(classes, k=1)
        pairs = np.arange(len(self.intercept))
        self._first_of_pair = np.zeros((len(pairs), classes))  # (P, C) one-hot of i
        self._first_of_pair[pairs, self.first] = 1
        self._second_of_pair = np.zeros((len(pairs), classes))  # (P, C) one-hot of j
        self._second_of_pair[pairs, self.second] = 1
        self._vectors64 = self.support_vectors.astype(np.float64)
        self._vector_norms = np.einsum("ij,ij->i", self._vectors64, self._vectors64)

    @staticmethod
    def estimator(arguments: dict[str, Any], train_features: np.ndarray, seed: int) -> Any:
        from sklearn.svm import SVC

        gamma = arguments["gamma"]
        if gamma == "scale":  # resolved here so the number SVC uses is the one stored
            gamma = 1.0 / (
                train_features.shape[1] * float(np.var(train_features, dtype=np.float64))
            )
        return SVC(
            C=float(arguments["C"]),
            kernel="rbf",
            gamma=float(gamma),
            cache_size=CACHE_MB,
            break_ties=True,
            random_state=seed,
        )

    @staticmethod
    def export(
        estimator: Any, features: FeatureMap, train_features: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        return {
            # rows of the float32 training features, so float32 loses nothing
            "svm.support_vectors": estimator.support_vectors_.astype(np.float32),
            "svm.dual_coef": estimator.dual_coef_.astype(np.float64),
            "svm.intercept": estimator.intercept_.astype(np.float64),
            "svm.n_support": estimator.n_support_.astype(np.int32),
            "svm.gamma": np.array([estimator.gamma], np.float64),
        }

    def classifier_arrays(self) -> dict[str, np.ndarray]:
        return {
            "svm.support_vectors": self.support_vectors,
            "svm.dual_coef": self.dual_coef,
            "svm.intercept": self.intercept,
            "svm.n_support": self.n_support.astype(np.int32),
            "svm.gamma": np.array([self.gamma], np.float64),
        }

    def decision_values(self, features: np.ndarray) -> np.ndarray:
        """(n, D) float32 -> (n, C(C-1)/2) float64 one-vs-one decision values d_ij, libsvm's
        order (SVC(decision_function_shape="ovo").decision_function)."""
        x = features.astype(np.float64)
        squared = (
            np.einsum("ij,ij->i", x, x)[:, None] + self._vector_norms - 2 * x @ self._vectors64.T
        )
        kernel = np.exp(-self.gamma * np.maximum(squared, 0))  # (n, S)
        ends = np.cumsum(self.n_support)
        # partial[c][:, r]: Σ over class c's support vectors of α^(r) K, (n, C-1) each
        partial = [
            kernel[:, end - count : end] @ self.dual_coef[:, end - count : end].T
            for count, end in zip(self.n_support, ends, strict=True)
        ]
        values = np.empty((len(x), len(self.intercept)))
        for k, (i, j) in enumerate(zip(self.first, self.second, strict=True)):
            values[:, k] = partial[i][:, j - 1] + partial[j][:, i] + self.intercept[k]
        return values

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(n, D) float32 -> (n, C) float64 votes plus squashed confidence, as
        SVC(decision_function_shape="ovr").decision_function."""
        values = self.decision_values(features)
        votes = (values >= 0) @ self._first_of_pair + (values < 0) @ self._second_of_pair
        confidence = values @ (self._first_of_pair - self._second_of_pair)
        squashed: np.ndarray = votes + confidence / (3 * (np.abs(confidence) + 1))
        return squashed

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.scores(features) / TEMPERATURE)

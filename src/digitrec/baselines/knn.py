"""k nearest neighbours (`knn`): scikit-learn's KNeighborsClassifier (brute force, Euclidean)
re-implemented in NumPy over the stored training features.

The file holds every training row. For MNIST's 55,000 training digits: PCA features as float32,
6.9 MB with the default 30 components (11.4 MB with 50); pixel features as the uint8 images they
come from, 43 MB; HOG features as float32, 71 MB.
Distances are computed in float64 (as scikit-learn does) for 256 queries × 4,096 training rows at
a time, keeping only the k best so far, so memory stays bounded whatever the training size; after
the first block only the few rows closer than a query's k-th best so far are merged in.
"""

from typing import Any

import numpy as np

from digitrec.baselines.base import Baseline
from digitrec.baselines.features import FeatureMap, pixels, required
from digitrec.errors import DataError, UsageError
from digitrec.models.modelfile import ModelCard

TRAIN_BLOCK = 4096  # training rows per distance block


class KNNBaseline(Baseline):
    def __init__(
        self, card: ModelCard, features: FeatureMap, arrays: dict[str, np.ndarray]
    ) -> None:
        super().__init__(card, features, arrays)
        stored = required(arrays, "knn.features")
        # uint8 rows are images: their features are pixels() of them, bit for bit
        train = pixels(stored) if stored.dtype == np.uint8 else stored.astype(np.float32)
        self.train_features: np.ndarray = train  # (M, D) float32
        self.labels = required(arrays, "knn.labels").astype(np.int64)  # (M,)
        self.k = int(card.arguments["k"])
        self.weights = str(card.arguments["weights"])
        if len(self.labels) != len(train) or not 1 <= self.k <= len(train):
            raise DataError("knn arrays do not fit together; the model file is damaged")
        if self.labels.min() < 0 or self.labels.max() >= len(card.classes):
            raise DataError("knn labels outside the card's classes; the model file is damaged")
        self._train_norms = np.einsum("ij,ij->i", train, train, dtype=np.float64)

    @staticmethod
    def estimator(arguments: dict[str, Any], train_features: np.ndarray, seed: int) -> Any:
        from sklearn.neighbors import KNeighborsClassifier

        if arguments["k"] > len(train_features):
            raise UsageError(f"knn: k is {arguments['k']}, more than the training digits")
        return KNeighborsClassifier(
            n_neighbors=arguments["k"], weights=arguments["weights"], algorithm="brute"
        )

    @staticmethod
    def export(
        estimator: Any, features: FeatureMap, train_features: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        return {
            "knn.features": _stored_rows(train_features, features.kind),
            "knn.labels": labels.astype(np.int32),
        }

    def classifier_arrays(self) -> dict[str, np.ndarray]:
        return {
            "knn.features": _stored_rows(self.train_features, self.features.kind),
            "knn.labels": self.labels.astype(np.int32),
        }

    def neighbours(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, D) float32 -> (n, k) float64 distances and (n, k) int64 training-row indices,
        nearest first (equal distances: the earlier training row first)."""
        x = features.astype(np.float64)
        minus_2x = -2 * x
        k = self.k
        # Rank by ‖t‖² − 2 x·t, the squared distance less ‖x‖², which is the same for a query.
        partial = self._partial_distances(minus_2x, 0)  # (n, B) for the first block
        best_rows = np.argpartition(partial, k - 1, axis=1)[:, :k]  # (n, k), unordered
        best = np.take_along_axis(partial, best_rows, axis=1)
        for start in range(TRAIN_BLOCK, len(self.train_features), TRAIN_BLOCK):
            partial = self._partial_distances(minus_2x, start)
            # After the first block few rows can still enter a query's k best: merge only those.
            query, column = np.nonzero(partial <= best.max(axis=1, keepdims=True))
            if len(query) == 0:
                continue
            touched = np.unique(query)
            queries = np.concatenate([np.repeat(touched, k), query])
            distances = np.concatenate([best[touched].ravel(), partial[query, column]])
            rows = np.concatenate([best_rows[touched].ravel(), column + start])
            order = np.lexsort((rows, distances, queries))  # by query, distance, training row
            queries, distances, rows = queries[order], distances[order], rows[order]
            rank = np.arange(len(queries)) - np.searchsorted(queries, queries)  # within a query
            kept = rank < k
            best[queries[kept], rank[kept]] = distances[kept]
            best_rows[queries[kept], rank[kept]] = rows[kept]
        order = np.lexsort((best_rows, best), axis=1)
        squared = np.take_along_axis(best, order, axis=1) + np.einsum("ij,ij->i", x, x)[:, None]
        return np.sqrt(np.maximum(squared, 0)), np.take_along_axis(best_rows, order, axis=1)

    def _partial_distances(self, minus_2x: np.ndarray, start: int) -> np.ndarray:
        """(n, D) float64 −2·queries -> (n, B) ‖t‖² − 2 x·t for training rows start..start+B-1."""
        block = self.train_features[start : start + TRAIN_BLOCK].astype(np.float64)
        partial: np.ndarray = minus_2x @ block.T
        partial += self._train_norms[start : start + len(block)]
        return partial

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        distances, rows = self.neighbours(features)
        if self.weights == "distance":
            # 1 / distance; a query equal to training rows takes their votes only (as scikit-learn)
            exact = distances == 0
            with np.errstate(divide="ignore"):
                weights = np.where(exact.any(axis=1, keepdims=True), exact, 1 / distances)
        else:
            weights = np.ones_like(distances)
        votes = np.zeros((len(features), len(self.card.classes)))
        neighbour_labels = self.labels[rows]  # (n, k)
        for column in range(self.k):
            votes[np.arange(len(features)), neighbour_labels[:, column]] += weights[:, column]
        result: np.ndarray = votes / votes.sum(axis=1, keepdims=True)
        return result


def _stored_rows(train_features: np.ndarray, kind: str) -> np.ndarray:
    """Training rows as the file keeps them: pixel features back to their uint8 images (4× smaller,
    exact, since they are x / 255), other features as float32."""
    if kind == "pixels":
        images: np.ndarray = np.rint(train_features * 255).astype(np.uint8)
        return images.reshape(-1, 28, 28)
    return train_features.astype(np.float32)

"""Decision tree and random forest (`decision-tree`, `random-forest`): fitted by scikit-learn,
exported as one flat node table for all trees and predicted by traversing every tree for a batch
of digits at once in NumPy. A decision tree is a forest of one.

Node table (all trees concatenated; child indices are global):
    tree.left, tree.right   (nodes,) int32  children; a leaf points to itself
    tree.feature            (nodes,) int32  feature tested (0 at leaves)
    tree.threshold          (nodes,) float64  go left when feature ≤ threshold (as scikit-learn,
                                              which compares float32 features with these)
    tree.leaf               (nodes,) int32  row of tree.values, −1 for split nodes
    tree.values             (leaves, C) float32  class fractions of the training digits in the leaf
    tree.roots              (trees,) int32

Probabilities are the mean over trees of the leaf's class fractions, as `predict_proba`.
On MNIST's 55,000 training digits a full-grown tree is a 0.3 MB file, the 100-tree forest 41 MB.
"""

from typing import Any

import numpy as np

from digitrec.baselines.base import Baseline
from digitrec.baselines.features import FeatureMap, required
from digitrec.errors import DataError
from digitrec.models.modelfile import ModelCard

NAMES = ("left", "right", "feature", "threshold", "leaf", "values", "roots")


class ForestBaseline(Baseline):
    def __init__(
        self, card: ModelCard, features: FeatureMap, arrays: dict[str, np.ndarray]
    ) -> None:
        super().__init__(card, features, arrays)
        table = {name: required(arrays, f"tree.{name}") for name in NAMES}
        self.left = table["left"].astype(np.int64)
        self.right = table["right"].astype(np.int64)
        self.feature = table["feature"].astype(np.int64)
        self.threshold = table["threshold"].astype(np.float64)
        self.leaf = table["leaf"].astype(np.int64)
        self.values = table["values"].astype(np.float32)
        self.roots = table["roots"].astype(np.int64)
        nodes = len(self.left)
        if (
            any(len(column) != nodes for column in (self.right, self.feature, self.threshold))
            or len(self.leaf) != nodes
            or self.values.shape[1:] != (len(card.classes),)
            or not all(_within(index, 0, nodes) for index in (self.left, self.right, self.roots))
            or not _within(self.leaf, -1, len(self.values))
            or not _within(self.feature, 0, np.iinfo(np.int32).max)
        ):
            raise DataError("tree arrays do not fit together; the model file is damaged")

    @staticmethod
    def estimator(arguments: dict[str, Any], train_features: np.ndarray, seed: int) -> Any:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.tree import DecisionTreeClassifier

        if "n_estimators" not in arguments:
            return DecisionTreeClassifier(max_depth=arguments["max_depth"], random_state=seed)
        return RandomForestClassifier(
            n_estimators=arguments["n_estimators"],
            max_depth=arguments["max_depth"],
            n_jobs=-1,  # trees grow in threads; the forest is the same for any n_jobs
            random_state=seed,
        )

    @staticmethod
    def export(
        estimator: Any, features: FeatureMap, train_features: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        trees = [tree.tree_ for tree in getattr(estimator, "estimators_", [estimator])]
        columns: dict[str, list[np.ndarray]] = {name: [] for name in NAMES}
        offset = leaves = 0
        for tree in trees:
            nodes = np.arange(tree.node_count)
            is_leaf = tree.children_left == -1
            columns["left"].append(np.where(is_leaf, nodes, tree.children_left) + offset)
            columns["right"].append(np.where(is_leaf, nodes, tree.children_right) + offset)
            columns["feature"].append(np.where(is_leaf, 0, tree.feature))
            columns["threshold"].append(np.where(is_leaf, 0.0, tree.threshold))
            leaf = np.full(tree.node_count, -1)
            leaf[is_leaf] = np.arange(is_leaf.sum()) + leaves
            columns["leaf"].append(leaf)
            values = tree.value[is_leaf, 0, :]  # class fractions (counts before scikit-learn 1.4)
            columns["values"].append(values / values.sum(axis=1, keepdims=True))
            columns["roots"].append(np.array([offset]))
            offset += tree.node_count
            leaves += int(is_leaf.sum())
        table = {name: np.concatenate(parts) for name, parts in columns.items()}
        return {
            f"tree.{name}": column.astype(
                np.float64 if name == "threshold" else np.float32 if name == "values" else np.int32
            )
            for name, column in table.items()
        }

    def classifier_arrays(self) -> dict[str, np.ndarray]:
        return {
            "tree.left": self.left.astype(np.int32),
            "tree.right": self.right.astype(np.int32),
            "tree.feature": self.feature.astype(np.int32),
            "tree.threshold": self.threshold,
            "tree.leaf": self.leaf.astype(np.int32),
            "tree.values": self.values,
            "tree.roots": self.roots.astype(np.int32),
        }

    def leaves_of(self, features: np.ndarray) -> np.ndarray:
        """(n, D) float32 -> (n, trees) int64 rows of tree.values: the leaf each digit reaches."""
        node = np.broadcast_to(self.roots, (len(features), len(self.roots))).copy()  # (n, T)
        digit = np.arange(len(features))[:, None]
        for _ in range(len(self.left)):  # a path is never longer than the table
            splitting = self.leaf[node] < 0
            if not splitting.any():
                return self.leaf[node]
            go_left = features[digit, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        raise DataError("tree arrays contain a cycle; the model file is damaged")

    def proba_from_features(self, features: np.ndarray) -> np.ndarray:
        fractions = self.values[self.leaves_of(features)]  # (n, T, C) float32
        mean: np.ndarray = fractions.sum(axis=1, dtype=np.float64) / len(self.roots)
        return mean


def _within(indices: np.ndarray, low: int, end: int) -> bool:
    """Every index in low..end-1."""
    return len(indices) == 0 or (int(indices.min()) >= low and int(indices.max()) < end)

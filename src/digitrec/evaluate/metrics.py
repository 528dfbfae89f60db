"""Classification metrics from predicted probabilities, in NumPy: accuracy, per-class precision,
recall and F1, confusion matrix, log loss and expected calibration error."""

from typing import Any

import numpy as np

CALIBRATION_BINS = 15  # equal-width confidence bins for the expected calibration error


def classification_metrics(
    probabilities: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]
) -> dict[str, Any]:
    """probabilities: (N, C) rows summing to 1; labels: (N,) ints in [0, C).

    Precision of a class never predicted is 0 (as scikit-learn's zero_division=0). Macro averages
    weigh equally every class that occurs in the labels or the predictions (scikit-learn's
    default), so a class absent from a small test set does not count as a failure."""
    count = len(classes)
    if len(labels) == 0:
        raise ValueError("no examples to measure")
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((count, count), dtype=np.int64)  # rows: true class, columns: predicted
    np.add.at(confusion, (labels, predicted), 1)
    true_positive = np.diag(confusion).astype(np.float64)
    predicted_count = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(
        true_positive, predicted_count, out=np.zeros(count), where=predicted_count > 0
    )
    recall = np.divide(true_positive, support, out=np.zeros(count), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(count), where=denominator > 0)
    picked = probabilities[np.arange(len(labels)), labels]
    present = (support > 0) | (predicted_count > 0)
    return {
        "n": len(labels),
        "accuracy": float((predicted == labels).mean()),
        "precision_macro": float(precision[present].mean()),
        "recall_macro": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
        "log_loss": float(-np.log(np.clip(picked, 1e-15, None)).mean()),
        "ece": expected_calibration_error(probabilities, labels),
        "per_class": [
            {
                "class": name,
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        ],
        "confusion_matrix": confusion.tolist(),
    }


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total / len(labels))


def reliability_curve(probabilities: np.ndarray, labels: np.ndarray) -> list[dict[str, float]]:
    """Per non-empty confidence bin: its mean confidence, accuracy and share of examples."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    return [
        {
            "confidence": float(confidence[bins == b].mean()),
            "accuracy": float(correct[bins == b].mean()),
            "share": float((bins == b).mean()),
        }
        for b in np.unique(bins)
    ]

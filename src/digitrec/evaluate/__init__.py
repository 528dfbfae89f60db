"""Evaluation: metrics from probabilities, and `evaluate()` of a model file on a dataset split."""

from digitrec.evaluate.metrics import classification_metrics, expected_calibration_error
from digitrec.evaluate.run import evaluate

__all__ = ["classification_metrics", "evaluate", "expected_calibration_error"]

"""Model metrics from true and predicted values, in numpy (the same definitions as sklearn.metrics)."""

from __future__ import annotations

from typing import Any

import numpy as np

SIGNIFICANT_DIGITS = 6


def rounded(value: float) -> float:
    """A float cut to six significant digits, so metrics JSON stays readable."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # An empty denominator (a class never predicted, or never present) scores 0, as sklearn's default does.
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def classification(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class figures and the confusion matrix."""
    counts = confusion(y_true, y_pred, n_classes)
    hits = np.diag(counts).astype(np.float64)
    support = counts.sum(axis=1)
    precision = _ratio(hits, counts.sum(axis=0))
    recall = _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {
        "accuracy": rounded(hits.sum() / len(y_true)),
        "precision_macro": rounded(precision.mean()),
        "recall_macro": rounded(recall.mean()),
        "f1_macro": rounded(f1.mean()),
        "per_class": {
            str(label): {
                "precision": rounded(precision[label]),
                "recall": rounded(recall[label]),
                "f1": rounded(f1[label]),
                "support": int(support[label]),
            }
            for label in range(n_classes)
        },
        "confusion_matrix": counts.tolist(),
    }


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """MSE, MAE and R² (averaged over target columns, as sklearn's default)."""
    y_true = y_true.reshape(len(y_true), -1).astype(np.float64)
    y_pred = y_pred.reshape(len(y_pred), -1).astype(np.float64)
    error = y_pred - y_true
    residual = (error**2).sum(axis=0)
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
    return {
        "mse": rounded((error**2).mean()),
        "mae": rounded(np.abs(error).mean()),
        "r2": rounded(r2.mean()),
    }

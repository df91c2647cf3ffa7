"""Metrics from scikit-learn: the numbers that score predictions (decisions.py turns outputs into those)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics

SIGNIFICANT_DIGITS = 6


def rounded(value: float) -> float:
    """A float cut to six significant digits, so metrics JSON stays readable."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def classification(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], probabilities: np.ndarray | None = None
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro precision/recall/F1 and ROC AUC for two classes (given probabilities)."""
    labels = list(range(len(classes)))
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    scores = {
        "accuracy": rounded(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": rounded(_balanced_accuracy(y_true, y_pred)),
        "precision_macro": rounded(precision),
        "recall_macro": rounded(recall),
        "f1_macro": rounded(f1),
    }
    if probabilities is not None and len(classes) == 2 and len(np.unique(y_true)) == 2:
        scores["roc_auc"] = rounded(metrics.roc_auc_score(y_true, probabilities[:, 1]))
    return scores


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean of each class's recall over the classes present in `y_true` (scikit-learn's): macro recall when
    every class has rows, else the classes that have them alone, without scikit-learn's warning about a predicted
    class that no row holds (a fold's few rows can lack one)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true", category=UserWarning)
        return metrics.balanced_accuracy_score(y_true, y_pred)


def per_class(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Precision, recall, F1 and support of each class, by name, and the confusion matrix."""
    labels = list(range(len(classes)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "per_class": {
            name: {"precision": rounded(p), "recall": rounded(r), "f1": rounded(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """MSE, MAE and R² (averaged over target columns)."""
    y_true, y_pred = y_true.reshape(len(y_true), -1), y_pred.reshape(len(y_pred), -1)
    return {
        "mse": rounded(metrics.mean_squared_error(y_true, y_pred)),
        "mae": rounded(metrics.mean_absolute_error(y_true, y_pred)),
        "r2": rounded(metrics.r2_score(y_true, y_pred)),
    }


def curves(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """ROC and precision-recall curve points of a two-class problem (for the plots)."""
    fpr, tpr, _ = metrics.roc_curve(y_true, probabilities[:, 1])
    precision, recall, _ = metrics.precision_recall_curve(y_true, probabilities[:, 1])
    return {"roc_fpr": fpr, "roc_tpr": tpr, "pr_precision": precision, "pr_recall": recall}

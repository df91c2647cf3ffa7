"""Each loss's value on each row, in numpy: what scoring keeps per validation row (`valid_rows_loss`), whose mean
over the rows is the loss training measured with torch (tests/test_backprop.py checks every loss)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinynets.common.losses import HUBER_DELTA
from tinynets.evaluation.decisions import as_labels


def _cross_entropy(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    log_softmax = outputs - np.logaddexp.reduce(outputs, axis=-1, keepdims=True)
    labels = np.broadcast_to(as_labels(targets)[:, None], (*outputs.shape[:-1], 1))
    return -np.take_along_axis(log_softmax, labels, axis=-1)[..., 0]


def _bce_with_logits(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    logits = outputs[..., 0]
    return np.logaddexp(0, logits) - as_labels(targets) * logits  # softplus(z) - y z, without overflow


def _mse(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return ((outputs - targets) ** 2).mean(axis=-1)


def _huber(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    error = np.abs(outputs - targets)
    quadratic = np.minimum(error, HUBER_DELTA)
    return (0.5 * quadratic**2 + HUBER_DELTA * (error - quadratic)).mean(axis=-1)


# one per entry of common.losses.LOSSES: (raw outputs (..., rows, outputs), targets as trained on) -> (..., rows)
ROW_LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "cross_entropy": _cross_entropy,
    "bce_with_logits": _bce_with_logits,
    "mse": _mse,
    "huber": _huber,
}

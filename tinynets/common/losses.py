"""The losses a net trains with, each declared once: what its targets are, torch's function for it, and its
value on each row in numpy (what scoring keeps per validation row). The train step, explicit backprop, the
targets' dtype, decisions, the schema's rules and scoring all read this registry; explicit backprop holds
each loss's gradient kernel beside it (tests/test_backprop.py checks every entry has one, bit-identical)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Targets = Literal["classes", "binary", "numbers"]
HUBER_DELTA = 1.0  # torch's default: squared error below it, absolute error (times it) above


def _labels(targets: np.ndarray) -> np.ndarray:
    return np.asarray(targets).reshape(len(targets), -1)[:, 0].astype(np.int64)


def _cross_entropy(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    log_softmax = outputs - np.logaddexp.reduce(outputs, axis=-1, keepdims=True)
    labels = np.broadcast_to(_labels(targets)[:, None], (*outputs.shape[:-1], 1))
    return -np.take_along_axis(log_softmax, labels, axis=-1)[..., 0]


def _bce_with_logits(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    logits = outputs[..., 0]
    return np.logaddexp(0, logits) - _labels(targets) * logits  # softplus(z) - y z, without overflow


def _mse(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return ((outputs - targets) ** 2).mean(axis=-1)


def _huber(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    error = np.abs(outputs - targets)
    quadratic = np.minimum(error, HUBER_DELTA)
    return (0.5 * quadratic**2 + HUBER_DELTA * (error - quadratic)).mean(axis=-1)


@dataclass(frozen=True)
class Loss:
    """A loss: its params.yaml name, its targets (class indices, one 0/1 column, or numbers), torch.nn.functional's
    function for it with the keywords it is called with, and its value per row from raw outputs (..., rows,
    outputs) and the targets as trained on (rows, columns)."""

    name: str
    targets: Targets
    function: str
    per_row: Callable[[np.ndarray, np.ndarray], np.ndarray]
    keywords: dict[str, float] = field(default_factory=dict)

    @property
    def classifies(self) -> bool:
        """Whether the net it trains is a classifier (its targets are classes) rather than a regressor."""
        return self.targets != "numbers"


LOSSES = {
    loss.name: loss
    for loss in (
        Loss("cross_entropy", "classes", "cross_entropy", _cross_entropy),
        Loss("bce_with_logits", "binary", "binary_cross_entropy_with_logits", _bce_with_logits),
        Loss("mse", "numbers", "mse_loss", _mse),
        Loss("huber", "numbers", "huber_loss", _huber, {"delta": HUBER_DELTA}),
    )
}

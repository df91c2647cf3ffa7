"""From a net's raw outputs to decisions: class probabilities and labels (numpy only, no scikit-learn)."""

from __future__ import annotations

import numpy as np

from tinynets.common.losses import LOSSES


def class_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """(rows, classes) probabilities from logits: softmax over classes, a sigmoid for a binary loss's one output."""
    logits = outputs.astype(np.float64)
    if LOSSES[loss].targets == "binary":
        positive = 1 / (1 + np.exp(-logits[:, 0]))
        return np.stack([1 - positive, positive], axis=1)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def predicted_labels(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Class indices from logits: argmax over classes, logit > 0 for a binary loss's one output."""
    if LOSSES[loss].targets == "binary":
        return (outputs[:, 0] > 0).astype(np.int64)
    return outputs.argmax(axis=1)


def top_guesses(outputs: np.ndarray, loss: str, count: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `count` likeliest classes (rows, count) and their probabilities, likeliest first."""
    probabilities = class_probabilities(outputs, loss)
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :count]
    return top, np.take_along_axis(probabilities, top, axis=1)


def as_labels(y: np.ndarray) -> np.ndarray:
    """Class labels as one int column (a binary loss keeps them as a float column while training)."""
    return np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.int64)

"""Cross-validation (data.split.folds = K): each seed's net trained K times, each time validated on one fold and
trained on the other folds' rows (a series: on the windows before its fold's, rolling origin); the folds'
outputs, each from the net that never saw its rows, are the seed's validation outputs. Then, as scikit-learn's
refit does, one net per seed trained on every train row (for the folds' mean best epoch under early stopping,
though each fold trained on fewer rows): the model that is tested, saved, predicted with and exported. A table's
repeats draw other folds (repeated K-fold: each repeat's seed shuffles its own); a series' are the same folds."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy as np
import torch


def fold_arrays(
    arrays: dict[str, np.ndarray], numbers: np.ndarray, fold: int, gap: int | None = None
) -> dict[str, np.ndarray]:
    """The features with fold `fold`'s train rows as the validation split and the rows its net learns from as the
    train split: every other fold's, or for rolling-origin folds (a `gap`) the windows before it but the gap's."""
    held = numbers == fold
    learned = ~held if gap is None else np.arange(len(numbers)) < np.flatnonzero(held)[0] - gap
    x, y = arrays["x_train"], arrays["y_train"]
    return arrays | {"x_train": x[learned], "y_train": y[learned], "x_valid": x[held], "y_valid": y[held]}


@dataclass
class HeldOut:
    """One seed's cross-validation: every train row's output from the fold's net that never saw it (NaN for a
    series' first windows, which no fold validates: fold -1), each row's fold, and each fold's best epoch (its
    last without early stopping)."""

    numbers: np.ndarray
    outputs: torch.Tensor | None = None
    best_epochs: list[int] = field(default_factory=list)

    def add(self, fold: int, outputs: torch.Tensor, best_epoch: int) -> None:
        """Keep fold `fold`'s validation outputs, in its rows' places, and its best epoch."""
        if self.outputs is None:
            self.outputs = outputs.new_full((len(self.numbers), *outputs.shape[1:]), float("nan"))
        self.outputs[torch.from_numpy(np.flatnonzero(self.numbers == fold)).to(outputs.device)] = outputs
        self.best_epochs.append(best_epoch)

    def refit_epochs(self) -> int:
        """The epochs the refit on every row trains: the folds' mean best epoch, rounded."""
        return max(1, round(statistics.fmean(self.best_epochs)))

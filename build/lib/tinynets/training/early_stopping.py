"""Early stopping: watch the validation loss, stop when it stops improving, keep the best epoch's weights."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from tinynets.params import EarlyStopping


class EarlyStopper:
    """After each epoch, `update(epoch, valid_loss, model)` says whether to stop; `best_state` holds the best
    epoch's weights (copies, on the model's device)."""

    def __init__(self, config: EarlyStopping) -> None:
        self.patience, self.min_delta = config.patience, config.min_delta
        self.best, self.best_epoch = math.inf, 0
        self.best_state: dict[str, torch.Tensor] = {}

    def update(self, epoch: int, valid_loss: float, model: nn.Module) -> bool:
        """Record an epoch (1-based); True when `patience` epochs have passed without a better loss."""
        if valid_loss < self.best - self.min_delta:
            self.best, self.best_epoch = valid_loss, epoch
            self.best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        return epoch - self.best_epoch >= self.patience

    def restore_best(self, model: nn.Module) -> None:
        """Put the best epoch's weights back into the model."""
        if self.best_state:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.best_state = state["best_state"]

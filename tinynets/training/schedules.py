"""Learning-rate schedules with torch.optim.lr_scheduler's arithmetic, step for step.

torch's schedulers only drive a torch.optim optimizer, and building one imports torch._dynamo (1.7 s
per train process here); tinynets' own optimizers take the lr these give at each epoch. Each class
repeats its torch counterpart's update in the same order of float operations, so the lr sequences
are identical (tests/test_schedules.py runs both side by side).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tinynets.params import CosineSchedule, PlateauSchedule, Schedule, StepSchedule


LEAST_LR_CHANGE = 1e-8  # ReduceLROnPlateau's eps: smaller changes of the lr are ignored


class LrSchedule:
    """The lr for the next epoch; `step(loss)` after every epoch (the loss matters to plateau alone)."""

    def __init__(self, lr: float) -> None:
        self.base_lr = self.lr = lr
        self.epoch = 0  # epochs stepped

    def step(self, loss: float) -> None:
        self.epoch += 1
        self.lr = self.next_lr(loss)

    def next_lr(self, loss: float) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers, for checkpoints."""
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class StepDecay(LrSchedule):
    """StepLR: lr times gamma every step_size epochs."""

    def __init__(self, lr: float, config: StepSchedule) -> None:
        super().__init__(lr)
        self.step_size, self.gamma = config.step_size, config.gamma

    def next_lr(self, loss: float) -> float:
        return self.lr * self.gamma if self.epoch % self.step_size == 0 else self.lr


class Cosine(LrSchedule):
    """CosineAnnealingLR: half a cosine from lr to eta_min over t_max epochs (then back up, as torch does)."""

    def __init__(self, lr: float, config: CosineSchedule, epochs: int) -> None:
        super().__init__(lr)
        self.t_max, self.eta_min = config.t_max or epochs, config.eta_min

    def next_lr(self, loss: float) -> float:
        epoch, t_max, eta_min = self.epoch, self.t_max, self.eta_min
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            return self.lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return (1 + math.cos(math.pi * epoch / t_max)) / (1 + math.cos(math.pi * (epoch - 1) / t_max)) * (
            self.lr - eta_min
        ) + eta_min


class Plateau(LrSchedule):
    """ReduceLROnPlateau (mode min, relative threshold): lr times factor after `patience` epochs without a
    new best loss."""

    def __init__(self, lr: float, config: PlateauSchedule) -> None:
        super().__init__(lr)
        self.factor, self.patience, self.threshold = config.factor, config.patience, config.threshold
        self.min_lr = config.min_lr
        self.best, self.bad_epochs = math.inf, 0

    def next_lr(self, loss: float) -> float:
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs <= self.patience:
            return self.lr
        self.bad_epochs = 0
        reduced = max(self.lr * self.factor, self.min_lr)
        return reduced if self.lr - reduced > LEAST_LR_CHANGE else self.lr


def make_schedule(config: Schedule | None, lr: float, epochs: int) -> LrSchedule | None:
    """The declared schedule at epoch 0, or None for a constant lr."""
    if config is None:
        return None
    if config.name == "step":
        return StepDecay(lr, config)
    if config.name == "cosine":
        return Cosine(lr, config, epochs)
    return Plateau(lr, config)

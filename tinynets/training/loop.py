"""Training: the run a checkpoint saves, and the fit loop over it; the loss history stays on the device and
is read rarely."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from tinynets.inference import Forward, as_inputs, batched_outputs
from tinynets.training.early_stopping import EarlyStopper
from tinynets.training.optimizers import Optimizer, make_optimizer
from tinynets.training.schedules import LrSchedule, make_schedule
from tinynets.training.steps import TORCH_LOSSES, TrainStep
from tinynets.training.tensors import ONE_PROCESS, Shard, Tensors, batch_rows, epoch_batches

if TYPE_CHECKING:
    from tinynets.params import TrainConfig


def mean_loss(forward: Forward, x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The mean loss over every row, as a 0-d tensor on the device.

    `forward` must not record autograd history (ExplicitMlp.forward never does).
    """
    return TORCH_LOSSES[loss](batched_outputs(forward, x), y)


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run the block on `count` CPU threads (None: as set), then restore torch's setting."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Run:
    """Everything training changes, so that a checkpoint of it resumes bit for bit."""

    model: nn.Module
    optimizer: Optimizer
    generator: torch.Generator
    history: torch.Tensor  # (epochs, len(columns)): mean losses per epoch, kept on the device
    columns: tuple[str, ...]  # ("train", "test"), or ("train", "valid", "test") with a validation split
    lrs: list[float] = field(default_factory=list)  # the lr of each epoch done
    schedule: LrSchedule | None = None
    stopper: EarlyStopper | None = None
    epoch: int = 0  # epochs done
    stopped: bool = False  # early stopping ended the run before its last epoch
    records: dict[str, torch.Tensor] = field(default_factory=dict)  # what a Recorder keeps for the figures

    @property
    def watched_column(self) -> int:
        """The history column that schedules and early stopping watch: validation, else train loss."""
        return self.columns.index("valid") if "valid" in self.columns else 0


def start_run(model: nn.Module, config: TrainConfig, seed: int, validating: bool = False) -> Run:
    """A run at epoch 0: the model's optimizer and schedule, a seeded shuffling generator, an empty history."""
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    columns = ("train", "valid", "test") if validating else ("train", "test")
    history = torch.full((config.epochs, len(columns)), float("nan"), device=device)
    optimizer = make_optimizer(list(model.parameters()), config.optimizer, config.lr)
    schedule = make_schedule(config.schedule, config.lr, config.epochs)
    stopper = EarlyStopper(config.early_stopping) if config.early_stopping else None
    return Run(model, optimizer, generator, history, columns, schedule=schedule, stopper=stopper)


def fit(
    run: Run,
    data: Tensors,
    config: TrainConfig,
    step: TrainStep,
    on_epoch: Callable[[Run], None],
    shard: Shard = ONE_PROCESS,
) -> None:
    """Train from run.epoch to config.epochs (or an early stop), filling run.history; call `on_epoch(run)`
    after each epoch.

    Without a schedule or early stopping nothing here waits on the device: `on_epoch` decides when to read
    the history. With them, the watched loss is read after every epoch, as they need it.
    """
    rows, device = len(data.x_train), data.x_train.device
    batch = batch_rows(config.batch_size, rows)
    if batch == rows:  # full batch: the inputs are converted once, not every epoch
        x_all, y_all = as_inputs(data.x_train[shard.rank :: shard.world]), data.y_train[shard.rank :: shard.world]
        rows_here = len(y_all)
    last = run.epoch if run.stopped else config.epochs  # a run restored after its early stop trains no more
    with torch.inference_mode(not step.uses_autograd), cpu_threads(step.threads):
        for epoch in range(run.epoch, last):
            lr = run.optimizer.lr = run.schedule.lr if run.schedule else config.lr
            if batch == rows:
                train_loss = shard.mean(step.update(x_all, y_all, rows), rows_here, rows)
            else:
                order = torch.randperm(rows, generator=run.generator, device=device) if config.shuffle else None
                total = torch.zeros((), device=device)
                for inputs, targets, batch_total in epoch_batches(data, batch, order, shard):
                    total += step.update(inputs, targets, batch_total) * len(targets)
                train_loss = shard.total(total) / rows
            losses = [train_loss]
            if data.x_valid is not None:
                losses.append(mean_loss(step.forward, data.x_valid, data.y_valid, config.loss))
            losses.append(mean_loss(step.forward, data.x_test, data.y_test, config.loss))
            torch.stack(losses, out=run.history[epoch])
            run.lrs.append(lr)
            run.epoch = epoch + 1
            if run.schedule or run.stopper:
                watched_loss = float(run.history[epoch, run.watched_column])
                if run.schedule:
                    run.schedule.step(watched_loss)
                if run.stopper and math.isfinite(watched_loss):
                    run.stopped = run.stopper.update(run.epoch, watched_loss, run.model)
            on_epoch(run)
            if run.stopped:
                break
    if run.stopper:
        run.stopper.restore_best(run.model)

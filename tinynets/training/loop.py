"""Training: batches gathered from resident tensors, the loss history kept on the device and read rarely."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinynets.inference import Forward, as_inputs, batched_outputs
from tinynets.training.backprop import ExplicitMlp
from tinynets.training.early_stopping import EarlyStopper
from tinynets.training.optimizers import Optimizer, make_optimizer
from tinynets.training.schedules import LrSchedule, make_schedule

if TYPE_CHECKING:
    from tinynets.params import ModelConfig, TrainConfig

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "mse": F.mse_loss,
}


@dataclass(frozen=True)
class Tensors:
    """A dataset's train and test split (and a validation split, if held out) as tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_valid: torch.Tensor | None = None
    y_valid: torch.Tensor | None = None


def as_targets(y: np.ndarray, loss: str) -> torch.Tensor:
    """Class indices for cross_entropy; a float column (or columns) for bce_with_logits and mse."""
    target = torch.from_numpy(np.ascontiguousarray(y))
    if loss == "cross_entropy":
        return target.long()
    return target.float().reshape(len(target), -1)


def to_tensors(arrays: dict[str, np.ndarray], loss: str, device: torch.device) -> Tensors:
    """Move a features file's arrays (and x_valid, y_valid if present) to the device once, targets shaped for
    the loss."""
    splits = ("train", "test", "valid") if "x_valid" in arrays else ("train", "test")
    tensors = {}
    for split in splits:
        tensors[f"x_{split}"] = torch.from_numpy(arrays[f"x_{split}"]).to(device)
        tensors[f"y_{split}"] = as_targets(arrays[f"y_{split}"], loss).to(device)
    return Tensors(**tensors)


def evaluating(model: nn.Module) -> Forward:
    """A forward pass that measures a loss mid-training: eval mode, no autograd history, then train mode again."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            outputs = model(x)
        model.train()
        return outputs

    return forward


def mean_loss(forward: Forward, x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The mean loss over every row, as a 0-d tensor on the device.

    `forward` must not record autograd history (ExplicitMlp.forward never does).
    """
    return LOSSES[loss](batched_outputs(forward, x), y)


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

    @property
    def watched(self) -> int:
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


@dataclass(frozen=True)
class Shard:
    """This process's share of every batch: rows rank, rank + world, ... (DistributedSampler's striding)."""

    rank: int = 0
    world: int = 1

    def total(self, value: torch.Tensor) -> torch.Tensor:
        """The sum of `value` over all processes."""
        if self.world > 1:
            torch.distributed.all_reduce(value)
        return value

    def mean(self, loss: torch.Tensor, rows: int, all_rows: int) -> torch.Tensor:
        """The mean over all processes' rows of a loss that is the mean over this process's `rows`."""
        return loss if self.world == 1 else self.total(loss * rows) / all_rows


@dataclass(frozen=True)
class Step:
    """How a run trains: one update from a batch, and the forward pass that measures the test loss."""

    update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (inputs, targets) -> loss; parameters updated
    forward: Forward  # outputs, recording no autograd history
    uses_autograd: bool  # False: the whole loop can run in inference mode, a tenth faster per tiny step


def explicit_step(mlp: ExplicitMlp, optimizer: Optimizer, loss: str) -> Step:
    """One process's step: the explicit forward and backward, then the optimizer."""

    def update(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = mlp.loss_backward(x, y, loss)
        optimizer.step()
        return value

    return Step(update, mlp.forward, uses_autograd=False)


def autograd_step(module: nn.Module, forward: Forward, optimizer: Optimizer, loss: str) -> Step:
    """A step through autograd: for networks the explicit pass does not cover, and for wrappers that hook into
    it (DistributedDataParallel averages gradients)."""

    def update(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        value = LOSSES[loss](module(x), y)
        value.backward()
        optimizer.step()
        return value.detach()

    return Step(update, forward, uses_autograd=True)


def epoch_batches(
    data: Tensors, batch: int, order: torch.Tensor | None, shard: Shard
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """This process's (inputs, targets) of each batch of one epoch, in `order` (None: as stored)."""
    rows = len(data.x_train)
    for start in range(0, rows, batch):
        stop = min(start + batch, rows)
        if order is None:
            index = slice(start + shard.rank, stop, shard.world)
            yield as_inputs(data.x_train[index]), data.y_train[index]
        else:  # index_select gathers rows ten times faster than x[index]
            index = order[start + shard.rank : stop : shard.world]
            yield as_inputs(data.x_train.index_select(0, index)), data.y_train.index_select(0, index)


def make_step(run: Run, model_config: ModelConfig, loss: str, shard: Shard) -> Step:
    """The step for this process. On several processes, DistributedDataParallel around whatever the model is
    (it averages the gradients across ranks inside autograd's backward); on one, an MLP's explicit backward,
    and autograd for any other network."""
    mlp = ExplicitMlp(run.model, model_config) if model_config.layers is not None else None
    if shard.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        run.model.train()
        forward = mlp.forward if mlp else evaluating(run.model)
        return autograd_step(DistributedDataParallel(run.model), forward, run.optimizer, loss)
    if mlp:
        return explicit_step(mlp, run.optimizer, loss)
    run.model.train()
    return autograd_step(run.model, evaluating(run.model), run.optimizer, loss)


def fit(
    run: Run, data: Tensors, config: TrainConfig, step: Step, on_epoch: Callable[[Run], None], shard: Shard = Shard()
) -> None:
    """Train from run.epoch to config.epochs (or an early stop), filling run.history; call `on_epoch(run)`
    after each epoch.

    Without a schedule or early stopping nothing here waits on the device: `on_epoch` decides when to read
    the history. With them, the watched loss is read after every epoch, as they need it.
    """
    rows, device = len(data.x_train), data.x_train.device
    batch = min(config.batch_size or rows, rows)
    if batch == rows:  # full batch: the inputs are converted once, not every epoch
        x_all, y_all = as_inputs(data.x_train[shard.rank :: shard.world]), data.y_train[shard.rank :: shard.world]
        rows_here = len(y_all)
    last = run.epoch if run.stopped else config.epochs  # a run restored after its early stop trains no more
    with torch.inference_mode(not step.uses_autograd):
        for epoch in range(run.epoch, last):
            lr = run.optimizer.lr = run.schedule.lr if run.schedule else config.lr
            if batch == rows:
                train_loss = shard.mean(step.update(x_all, y_all), rows_here, rows)
            else:
                order = torch.randperm(rows, generator=run.generator, device=device) if config.shuffle else None
                total = torch.zeros((), device=device)
                for inputs, targets in epoch_batches(data, batch, order, shard):
                    total += step.update(inputs, targets) * len(targets)
                train_loss = shard.total(total) / rows
            losses = [train_loss]
            if data.x_valid is not None:
                losses.append(mean_loss(step.forward, data.x_valid, data.y_valid, config.loss))
            losses.append(mean_loss(step.forward, data.x_test, data.y_test, config.loss))
            torch.stack(losses, out=run.history[epoch])
            run.lrs.append(lr)
            run.epoch = epoch + 1
            if run.schedule or run.stopper:
                watched = float(run.history[epoch, run.watched])
                if run.schedule:
                    run.schedule.step(watched)
                if run.stopper and math.isfinite(watched):
                    run.stopped = run.stopper.update(run.epoch, watched, run.model)
            on_epoch(run)
            if run.stopped:
                break
    if run.stopper:
        run.stopper.restore_best(run.model)

"""Training: batches gathered from resident tensors, the loss history kept on the device and read rarely."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinynets.errors import TrainingError
from tinynets.params import ModelConfig, TrainConfig
from tinynets.preprocess import PIXEL_SCALE
from tinynets.training.backprop import ExplicitMlp
from tinynets.training.optimizers import Optimizer, make_optimizer

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "mse": F.mse_loss,
}
EVAL_BATCH = 16384  # rows per forward pass when only evaluating: large, but bounded in memory
Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Tensors:
    """A dataset's train and test split as tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def as_inputs(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels become floats in [0, 1]; other inputs pass through untouched."""
    return x.float().mul_(PIXEL_SCALE) if x.dtype == torch.uint8 else x


def as_targets(y: np.ndarray, loss: str) -> torch.Tensor:
    """Class indices for cross_entropy; a float column (or columns) for bce_with_logits and mse."""
    target = torch.from_numpy(np.ascontiguousarray(y))
    if loss == "cross_entropy":
        return target.long()
    return target.float().reshape(len(target), -1)


def to_tensors(arrays: dict[str, np.ndarray], loss: str, device: torch.device) -> Tensors:
    """Move a features file's arrays to the device once, targets shaped for the loss."""
    return Tensors(
        torch.from_numpy(arrays["x_train"]).to(device),
        as_targets(arrays["y_train"], loss).to(device),
        torch.from_numpy(arrays["x_test"]).to(device),
        as_targets(arrays["y_test"], loss).to(device),
    )


def batched_outputs(forward: Forward, x: torch.Tensor) -> torch.Tensor:
    """`forward` over every row: in one pass when the rows fit, else in EVAL_BATCH chunks."""
    rows = x.shape[0]
    if rows <= EVAL_BATCH:
        return forward(as_inputs(x))
    return torch.cat([forward(as_inputs(x[start : start + EVAL_BATCH])) for start in range(0, rows, EVAL_BATCH)])


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs for every row, computed in large batches."""
    model.eval()
    return batched_outputs(model, x)


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
    history: torch.Tensor  # (epochs, 2): mean train and test loss per epoch, kept on the device
    epoch: int = 0  # epochs done


def start_run(model: nn.Module, config: TrainConfig, seed: int) -> Run:
    """A run at epoch 0: the model's optimizer, a seeded shuffling generator, an empty history."""
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    history = torch.full((config.epochs, 2), float("nan"), device=device)
    return Run(model, make_optimizer(list(model.parameters()), config.optimizer, config.lr), generator, history)


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


def autograd_step(module: nn.Module, mlp: ExplicitMlp, optimizer: Optimizer, loss: str) -> Step:
    """A step through autograd, for wrappers that hook into it (DistributedDataParallel averages gradients)."""

    def update(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        value = LOSSES[loss](module(x), y)
        value.backward()
        optimizer.step()
        return value.detach()

    return Step(update, mlp.forward, uses_autograd=True)


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
    """The step for this process: the explicit backward alone; under torchrun, DistributedDataParallel,
    which averages the gradients across ranks from inside autograd's backward."""
    mlp = ExplicitMlp(run.model, model_config)
    if shard.world == 1:
        return explicit_step(mlp, run.optimizer, loss)
    from torch.nn.parallel import DistributedDataParallel

    return autograd_step(DistributedDataParallel(run.model), mlp, run.optimizer, loss)


def fit(
    run: Run, data: Tensors, config: TrainConfig, step: Step, on_epoch: Callable[[Run], None], shard: Shard = Shard()
) -> None:
    """Train from run.epoch to config.epochs, filling run.history; call `on_epoch(run)` after each epoch.

    Nothing here waits on the device: `on_epoch` decides when to read the history.
    """
    rows, device = len(data.x_train), data.x_train.device
    batch = min(config.batch_size or rows, rows)
    if batch == rows:  # full batch: the inputs are converted once, not every epoch
        x_all, y_all = as_inputs(data.x_train[shard.rank :: shard.world]), data.y_train[shard.rank :: shard.world]
        rows_here = len(y_all)
    with torch.inference_mode(not step.uses_autograd):
        for epoch in range(run.epoch, config.epochs):
            if batch == rows:
                train_loss = shard.mean(step.update(x_all, y_all), rows_here, rows)
            else:
                order = torch.randperm(rows, generator=run.generator, device=device) if config.shuffle else None
                total = torch.zeros((), device=device)
                for inputs, targets in epoch_batches(data, batch, order, shard):
                    total += step.update(inputs, targets) * len(targets)
                train_loss = shard.total(total) / rows
            test_loss = mean_loss(step.forward, data.x_test, data.y_test, config.loss)
            torch.stack((train_loss, test_loss), out=run.history[epoch])
            run.epoch = epoch + 1
            on_epoch(run)


class Monitor:
    """Shows progress (a tqdm bar on a terminal, about ten plain lines otherwise) and stops on a NaN loss.

    It reads the history from the device only when it shows it, about twice a second, so the
    training loop itself never waits on the device.
    """

    INTERVAL_S = 0.5

    def __init__(self, name: str, epochs: int, lr: float, start: int = 0, stream=sys.stdout) -> None:
        self.name, self.epochs, self.lr, self.stream = name, epochs, lr, stream
        self.checked = start  # epochs already done (and checked) before a resumed run
        self.last_read = time.monotonic()
        self.line_every = max(1, epochs // 10)
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=start, desc=name, unit="epoch", file=stream, leave=True)
        elif start:
            print(f"{name}: resuming at epoch {start + 1}/{epochs} from a checkpoint", file=stream, flush=True)

    def __call__(self, run: Run) -> None:
        done = run.epoch
        now = time.monotonic()
        due_line = self.bar is None and (done % self.line_every == 0 or done == self.epochs)
        if not (due_line or done == self.epochs or now - self.last_read >= self.INTERVAL_S):
            return
        self.last_read = now
        seen = run.history[self.checked : done].cpu()
        self._stop_if_diverged(seen)
        self.checked = done
        train, test = seen[-1].tolist()
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(train_loss=f"{train:.4f}", test_loss=f"{test:.4f}", refresh=False)
            if done == self.epochs:
                self.bar.close()
        elif due_line:
            print(
                f"{self.name}: epoch {done}/{self.epochs} train loss {train:.4f} test loss {test:.4f}",
                file=self.stream,
                flush=True,
            )

    def _stop_if_diverged(self, seen: torch.Tensor) -> None:
        finite = torch.isfinite(seen[:, 0])
        if bool(finite.all()):
            return
        first = int((~finite).nonzero()[0, 0])
        value = float(seen[first, 0])
        if self.bar is not None:
            self.bar.close()
        raise TrainingError(
            f"{self.name}: training diverged at epoch {self.checked + first + 1}: the train loss is "
            f"{'nan' if math.isnan(value) else value} with lr {self.lr}; try a smaller datasets.{self.name}.train.lr"
        )

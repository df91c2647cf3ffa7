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
from tinynets.params import TrainConfig
from tinynets.preprocess import PIXEL_SCALE

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "mse": F.mse_loss,
}
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
EVAL_BATCH = 16384  # rows per forward pass when only evaluating: large, but bounded in memory


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


def make_optimizer(parameters: Iterator[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """The declared optimizer with its options and learning rate."""
    options = config.optimizer.model_dump(exclude={"name"})
    return OPTIMIZERS[config.optimizer.name](parameters, lr=config.lr, **options)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs for every row, computed in large batches."""
    model.eval()
    return torch.cat([model(as_inputs(x[start : start + EVAL_BATCH])) for start in range(0, len(x), EVAL_BATCH)])


def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The mean loss over every row, as a 0-d tensor on the device."""
    with torch.inference_mode():
        return LOSSES[loss](predict(model, x), y)


def fit(
    model: nn.Module,
    data: Tensors,
    config: TrainConfig,
    generator: torch.Generator,
    on_epoch: Callable[[int, torch.Tensor], None],
) -> torch.Tensor:
    """Train for config.epochs; return the (epochs, 2) history of mean train and test loss per epoch.

    The history stays on the device; `on_epoch(epoch, history)` decides when to read it.
    """
    loss_fn = LOSSES[config.loss]
    optimizer = make_optimizer(model.parameters(), config)
    device = data.x_train.device
    rows = len(data.x_train)
    batch = min(config.batch_size or rows, rows)
    full_batch = batch == rows
    x_full = as_inputs(data.x_train) if full_batch else None
    history = torch.empty(config.epochs, 2, device=device)
    for epoch in range(config.epochs):
        model.train()
        if full_batch:
            loss = loss_fn(model(x_full), data.y_train)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history[epoch, 0] = loss.detach()
        else:
            order = torch.randperm(rows, generator=generator, device=device) if config.shuffle else None
            total = torch.zeros((), device=device)
            for start in range(0, rows, batch):
                index = order[start : start + batch] if order is not None else slice(start, start + batch)
                targets = data.y_train[index]
                loss = loss_fn(model(as_inputs(data.x_train[index])), targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(targets)
            history[epoch, 0] = total / rows
        history[epoch, 1] = mean_loss(model, data.x_test, data.y_test, config.loss)
        on_epoch(epoch, history)
    return history


class Monitor:
    """Shows progress (a tqdm bar on a terminal, about ten plain lines otherwise) and stops on a NaN loss.

    It reads the history from the device only when it shows it, about twice a second, so the
    training loop itself never waits on the device.
    """

    INTERVAL_S = 0.5

    def __init__(self, name: str, epochs: int, lr: float, stream=sys.stdout) -> None:
        self.name, self.epochs, self.lr, self.stream = name, epochs, lr, stream
        self.checked = 0
        self.last_read = time.monotonic()
        self.line_every = max(1, epochs // 10)
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, desc=name, unit="epoch", file=stream, leave=True)

    def __call__(self, epoch: int, history: torch.Tensor) -> None:
        done = epoch + 1
        now = time.monotonic()
        due_line = self.bar is None and (done % self.line_every == 0 or done == self.epochs)
        if not (due_line or done == self.epochs or now - self.last_read >= self.INTERVAL_S):
            return
        self.last_read = now
        seen = history[self.checked : done].cpu()
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

"""How a run makes one update: the explicit MLP pass on one process, autograd otherwise, and
DistributedDataParallel around whatever the model is on several processes."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from tinynets.common.losses import LOSSES
from tinynets.inference import Forward, eval_forward
from tinynets.training.backprop import ExplicitMlp

if TYPE_CHECKING:
    from tinynets.params import ModelConfig
    from tinynets.training.optimizers import Optimizer
    from tinynets.training.tensors import Shard

TORCH_LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    name: functools.partial(getattr(F, loss.function), **loss.keywords) for name, loss in LOSSES.items()
}


@dataclass(frozen=True)
class TrainStep:
    """How a run trains: one update from a batch, and the forward pass that measures the test loss."""

    # (inputs, targets, the batch's rows over every process) -> this process's mean loss; parameters updated
    update: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    forward: Forward  # outputs, recording no autograd history
    uses_autograd: bool  # False: the whole loop can run in inference mode, a tenth faster per tiny step
    threads: int | None = None  # the CPU threads to train on; None: as torch is set (its cores, or OMP_NUM_THREADS)


# Below this many multiply-adds in a batch's largest layer, MKL's second thread costs more than it saves. On
# this 2-core CPU the iris stage trains 14% faster on one (best of 6 runs each: 4.35 s against 5.04 s), to the
# same bits; circles and sum30 show no change beyond the machine's noise; mnist's layers stay on every core.
ONE_THREAD_WORK = 1 << 20


def threads_for(mlp: ExplicitMlp, batch: int) -> int | None:
    """One thread for an MLP whose every layer is tiny at this batch size, else torch's default."""
    largest = max(weight.numel() for weight, _ in mlp.weights)
    return 1 if batch * largest < ONE_THREAD_WORK else None


def explicit_step(mlp: ExplicitMlp, optimizer: Optimizer, loss: str, batch: int) -> TrainStep:
    """One process's step: the explicit forward and backward, then the optimizer."""

    def update(x: torch.Tensor, y: torch.Tensor, rows: int) -> torch.Tensor:
        value = mlp.loss_backward(x, y, loss)
        optimizer.step()
        return value

    return TrainStep(update, mlp.forward, uses_autograd=False, threads=threads_for(mlp, batch))


def autograd_step(module: nn.Module, forward: Forward, optimizer: Optimizer, loss: str) -> TrainStep:
    """A step through autograd, for networks the explicit pass does not cover."""

    def update(x: torch.Tensor, y: torch.Tensor, rows: int) -> torch.Tensor:
        optimizer.zero_grad()
        value = TORCH_LOSSES[loss](module(x), y)
        value.backward()
        optimizer.step()
        return value.detach()

    return TrainStep(update, forward, uses_autograd=True)


def distributed_step(ddp: nn.Module, forward: Forward, optimizer: Optimizer, loss: str, world: int) -> TrainStep:
    """A step of one of `world` processes, whatever share of the batch it holds (none, for an uneven last batch).

    DistributedDataParallel averages the processes' gradients; each backpropagates its rows' summed loss times
    world / (the batch's rows), so that the average is the whole batch's mean loss's gradient, as on one process.
    """

    def update(x: torch.Tensor, y: torch.Tensor, rows: int) -> torch.Tensor:
        optimizer.zero_grad()
        per_row = math.prod(y.shape[1:])  # the elements a mean loss divides by, per row
        total = TORCH_LOSSES[loss](ddp(x), y, reduction="sum")
        (total * (world / (rows * per_row))).backward()
        optimizer.step()
        return (total / max(len(y) * per_row, 1)).detach()

    return TrainStep(update, forward, uses_autograd=True)


def make_step(
    model: nn.Module, optimizer: Optimizer, model_config: ModelConfig, loss: str, shard: Shard, batch: int
) -> TrainStep:
    """The step for this process, for batches of `batch` rows. On several processes, DistributedDataParallel
    around whatever the model is (it averages the gradients across ranks inside autograd's backward); on one,
    an MLP's explicit backward, and autograd for any other network."""
    mlp = ExplicitMlp(model, model_config) if model_config.layers is not None else None
    if shard.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model.train()
        forward = mlp.forward if mlp else eval_forward(model)
        return distributed_step(DistributedDataParallel(model), forward, optimizer, loss, shard.world)
    if mlp:
        return explicit_step(mlp, optimizer, loss, batch)
    model.train()
    return autograd_step(model, eval_forward(model), optimizer, loss)

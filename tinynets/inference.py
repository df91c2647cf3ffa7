"""Inference: a network's outputs for many rows, in large batches, in eval mode, with no autograd history.

The train stage (test and validation outputs, the losses it records), tinynets predict and the export
check all run a network this way; `eval_mode` is the one rule for switching a network to eval mode and back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from tinynets.common.pixels import PIXEL_SCALE

EVAL_BATCH = 16384  # rows per forward pass when only evaluating: large, but bounded in memory
Forward = Callable[[torch.Tensor], torch.Tensor]


def as_inputs(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels become floats in [0, 1]; other inputs pass through untouched."""
    return x.float().mul_(PIXEL_SCALE) if x.dtype == torch.uint8 else x


def batched_outputs(forward: Forward, x: torch.Tensor) -> torch.Tensor:
    """`forward` over every row: in one pass when the rows fit, else in EVAL_BATCH chunks."""
    rows = x.shape[0]
    if rows <= EVAL_BATCH:
        return forward(as_inputs(x))
    return torch.cat([forward(as_inputs(x[start : start + EVAL_BATCH])) for start in range(0, rows, EVAL_BATCH)])


MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase, nn.RNNBase)  # what eval mode changes


def mode_dependent(model: nn.Module) -> bool:
    """Whether eval mode changes what the model computes (any dropout, batch or instance norm, a recurrent layer's
    dropout)."""
    return any(isinstance(module, MODE_DEPENDENT) for module in model.modules())


@contextmanager
def eval_mode(model: nn.Module, switch: bool | None = None) -> Iterator[None]:
    """Eval mode without autograd for the block, then the mode the model was in. `switch` False skips the
    switch for a net eval mode does not change (walking its modules twice costs a tiny MLP's recorded epoch a
    third of its time); None asks `mode_dependent`."""
    switch = mode_dependent(model) if switch is None else switch
    training = model.training
    if switch:
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if switch:
            model.train(training)


def eval_forward(model: nn.Module) -> Forward:
    """A forward pass in eval mode without autograd history (a loss measured mid-training, say)."""
    switch = mode_dependent(model)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with eval_mode(model, switch):
            return model(x)

    return forward


def eval_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs for every row (in eval mode: no dropout, batch norm's running stats), in large batches;
    the model is left in the mode it was in."""
    with eval_mode(model, switch=True):
        return batched_outputs(model, x)

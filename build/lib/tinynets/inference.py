"""Inference: a trained network's outputs for many rows, in large batches, with no autograd history.

The train stage (test and validation outputs, the losses it records), tinynets predict and the export
check all run a network this way.
"""

from __future__ import annotations

from collections.abc import Callable

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


@torch.inference_mode()
def eval_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs for every row (in eval mode: no dropout, batch norm's running stats), in large batches."""
    model.eval()
    return batched_outputs(model, x)

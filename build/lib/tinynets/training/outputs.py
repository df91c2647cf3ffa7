"""What the evaluate stage needs from a trained network: its raw outputs, computed where torch is loaded.

The train stage writes these, so that evaluate scores them with scikit-learn alone and never spends
two seconds importing torch for a few milliseconds of inference.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tinynets.common.facts import is_plane
from tinynets.inference import eval_outputs
from tinynets.training.steps import LOSSES
from tinynets.training.tensors import Tensors

GRID_STEPS = 200  # decision-region resolution per axis for 2-D inputs
GRID_MARGIN = 0.1  # fraction of each axis' range added on both sides of the data


def grid_points(x: torch.Tensor, steps: int) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The axes of a `steps` x `steps` grid spanning 2-D inputs (with a margin), and its points, row by row."""
    low, high = x.min(dim=0).values.cpu(), x.max(dim=0).values.cpu()
    pad = (high - low) * GRID_MARGIN
    axes = [torch.linspace(float(lo - p), float(hi + p), steps) for lo, hi, p in zip(low, high, pad, strict=True)]
    grid_x, grid_y = torch.meshgrid(*axes, indexing="xy")
    return (axes[0], axes[1]), torch.stack([grid_x.ravel(), grid_y.ravel()], dim=1).to(x.device)


def decision_grid(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The network's outputs over a grid spanning 2-D inputs (with a margin), for the decision-region plot."""
    (axis_x, axis_y), points = grid_points(x, GRID_STEPS)
    grid_x, grid_y = torch.meshgrid(axis_x, axis_y, indexing="xy")
    grid_outputs = eval_outputs(model, points).cpu().numpy()
    return {"grid_x": grid_x.numpy(), "grid_y": grid_y.numpy(), "grid_outputs": grid_outputs}


def network_outputs(models: list[nn.Module], data: Tensors, loss: str, is_classifier: bool) -> dict[str, np.ndarray]:
    """The first model's test outputs and mean loss (the same for the validation split, if held out; for a 2-D
    classifier its outputs over a grid); with several models (train.repeats), every one's, for the spread the
    evaluate stage reports."""
    splits = {"": (data.x_test, data.y_test)}
    if data.x_valid is not None:
        splits["valid_"] = (data.x_valid, data.y_valid)
    arrays = {}
    for prefix, (x, y) in splits.items():
        outputs = [eval_outputs(model, x) for model in models]
        losses = [float(LOSSES[loss](output, y)) for output in outputs]
        arrays |= {f"{prefix}outputs": outputs[0].cpu().numpy(), f"{prefix}loss": np.array(losses[0])}
        if len(models) > 1:
            arrays[f"repeat_{prefix}outputs"] = torch.stack(outputs).cpu().numpy()
            arrays[f"repeat_{prefix}losses"] = np.array(losses)
    if is_classifier and is_plane(data.x_test):
        arrays |= decision_grid(models[0], torch.cat([data.x_train, data.x_test]))
    return arrays

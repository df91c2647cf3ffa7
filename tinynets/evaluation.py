"""Evaluation: a trained model's test predictions, metrics, and what the plots need from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tinynets import metrics
from tinynets.params import DatasetConfig
from tinynets.training import LOSSES, Tensors, predict

GRID_STEPS = 200  # decision-region resolution per axis for 2-D inputs
GRID_MARGIN = 0.1  # fraction of each axis' range added on both sides of the data
SAMPLE_IMAGES = 32


def predicted_labels(outputs: torch.Tensor, loss: str) -> torch.Tensor:
    """Class indices from logits: argmax for cross_entropy, logit > 0 for bce_with_logits."""
    if loss == "bce_with_logits":
        return (outputs[:, 0] > 0).long()
    return outputs.argmax(dim=1)


def _decision_grid(model: nn.Module, x: torch.Tensor, loss: str) -> dict[str, np.ndarray]:
    low, high = x.min(dim=0).values.cpu(), x.max(dim=0).values.cpu()
    pad = (high - low) * GRID_MARGIN
    axes = [torch.linspace(float(lo - p), float(hi + p), GRID_STEPS) for lo, hi, p in zip(low, high, pad, strict=True)]
    grid_x, grid_y = torch.meshgrid(*axes, indexing="xy")
    points = torch.stack([grid_x.ravel(), grid_y.ravel()], dim=1).to(x.device)
    classes = predicted_labels(predict(model, points), loss).reshape(grid_x.shape)
    return {"grid_x": grid_x.numpy(), "grid_y": grid_y.numpy(), "grid_class": classes.cpu().numpy()}


def evaluate(model: nn.Module, data: Tensors, config: DatasetConfig) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The test-set metrics, and the arrays the plots are drawn from."""
    loss = config.train.loss
    outputs = predict(model, data.x_test)
    scores: dict[str, Any] = {"loss": metrics.rounded(float(LOSSES[loss](outputs, data.y_test)))}
    y_true = data.y_test.cpu().numpy()
    if config.is_classifier:
        n_classes = 2 if loss == "bce_with_logits" else config.model.layers[-1]
        y_true = y_true.reshape(len(y_true), -1)[:, 0].astype(np.int64) if loss == "bce_with_logits" else y_true
        y_pred = predicted_labels(outputs, loss).cpu().numpy()
        scores |= metrics.classification(y_true, y_pred, n_classes)
    else:
        y_pred = outputs.cpu().numpy()
        scores |= metrics.regression(y_true, y_pred)
    arrays = {"y_true": y_true, "y_pred": y_pred}
    if config.is_classifier and data.x_test.ndim == 2 and data.x_test.shape[1] == 2:
        arrays |= _decision_grid(model, torch.cat([data.x_train, data.x_test]), loss)
        arrays["x_test"] = data.x_test.cpu().numpy()
    if data.x_test.ndim == 3:  # images: keep a few for the sample grid
        arrays["images"] = data.x_test[:SAMPLE_IMAGES].cpu().numpy()
    return scores, arrays

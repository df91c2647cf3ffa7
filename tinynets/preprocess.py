"""Scalers fitted on the train split only, then applied to both splits.

Every scaler is affine per feature, x' = (x - offset) * scale, so its fitted stats are two vectors.
`pixels` keeps uint8 images compact on disk and in memory; they become x / 255 batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynets.errors import DataError

PIXEL_SCALE = 1 / 255


@dataclass(frozen=True)
class FittedScaler:
    """A scaler's kind and its fitted per-feature offset and scale."""

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale tabular rows to float32; uint8 images pass through unchanged (scaled at batching)."""
        if self.kind == "pixels":
            return x
        return ((x.astype(np.float64) - self.offset) * self.scale).astype(np.float32)

    def stats(self) -> dict[str, Any]:
        """The fitted stats as plain JSON data."""
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}


def _safe_inverse(spread: np.ndarray) -> np.ndarray:
    # A constant feature has no spread; leave it unscaled instead of dividing by zero (as sklearn does).
    return 1.0 / np.where(spread == 0, 1.0, spread)


def fit_scaler(kind: str, x_train: np.ndarray) -> FittedScaler:
    """Fit a minmax, standard, none or pixels scaler on the train inputs."""
    if kind == "pixels":
        if x_train.dtype != np.uint8:
            raise DataError(f"scaler pixels needs uint8 images, but the inputs are {x_train.dtype}")
        return FittedScaler(kind, np.zeros(1), np.full(1, PIXEL_SCALE))
    rows = x_train.astype(np.float64).reshape(len(x_train), -1)
    if kind == "minmax":
        low = rows.min(axis=0)
        return FittedScaler(kind, low, _safe_inverse(rows.max(axis=0) - low))
    if kind == "standard":
        return FittedScaler(kind, rows.mean(axis=0), _safe_inverse(rows.std(axis=0)))
    if kind == "none":
        width = rows.shape[1]
        return FittedScaler(kind, np.zeros(width), np.ones(width))
    raise ValueError(f"unknown scaler {kind!r}")

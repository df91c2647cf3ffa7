"""Scalers fitted on the rows the net trains on only, then applied to every split (train, validation, test).

Every scaler is affine per feature, x' = (x - offset) * scale, so its fitted stats are two vectors.
`pixels` keeps uint8 images compact on disk and in memory; they become x / 255 batch by batch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynets.common.errors import DataError
from tinynets.common.facts import DataFacts, class_count, class_order, is_classifier
from tinynets.common.pixels import PIXEL_SCALE

if TYPE_CHECKING:
    from tinynets.common.settings import Settings


@dataclass(frozen=True)
class FittedScaler:
    """A scaler's kind and its fitted per-feature offset and scale."""

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    def transform(self, x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """Scale tabular rows (to float32 by default); uint8 images pass through unchanged (scaled at batching)."""
        if self.kind == "pixels":
            return x
        return ((x.astype(np.float64) - self.offset) * self.scale).astype(dtype)

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Undo `transform` (for regression targets: predictions back in the target's own units)."""
        return x.astype(np.float64) / self.scale + self.offset

    def stats(self) -> dict[str, Any]:
        """The fitted stats as plain JSON data."""
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}


def from_stats(stats: dict[str, Any]) -> FittedScaler:
    """The scaler that `stats()` described."""
    return FittedScaler(stats["kind"], np.asarray(stats["offset"]), np.asarray(stats["scale"]))


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


def class_names(settings: Settings, count: int, source_names: list[str]) -> list[str]:
    """The names of classes 0..count-1: params' data.classes, else the source's own, else the indices."""
    if settings.data.classes is not None:
        return list(settings.data.classes)
    if len(source_names) >= count:  # a source's last classes may have no rows in any split
        return list(source_names[:count])
    return [str(index) for index in range(count)]


def one_hot(text: np.ndarray, categories: list[list[str]]) -> np.ndarray:
    """Text columns as one 0/1 column per known category (sklearn's OneHotEncoder; unknown ones: all 0)."""
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    return encoder.fit(text[:1]).transform(text)


def fit_categories(text_train: np.ndarray) -> list[list[str]]:
    """The categories of each text column, as seen in the train split (sorted)."""
    from sklearn.preprocessing import OneHotEncoder

    return [column.tolist() for column in OneHotEncoder().fit(text_train).categories_]


def inputs(x: np.ndarray, text: np.ndarray | None, info: dict[str, Any]) -> np.ndarray:
    """Raw inputs as the net sees them: numeric columns scaled, then text columns one-hot encoded."""
    scaled = from_stats(info["scaler"]).transform(x)
    if not info.get("categories"):
        return scaled
    return np.concatenate([scaled, one_hot(text, info["categories"])], axis=1)


def featurize(
    raw: dict[str, np.ndarray], settings: Settings, name: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Scale (and one-hot encode) dataset `name`'s prepared splits, fitted on train only (no validation row is
    seen); return the arrays and their description."""
    data = settings.data
    splits = ("train", "valid", "test") if "x_valid" in raw else ("train", "test")
    series = raw.get("fit_rows")  # a time series' train period: its scalers fit on those rows, per column
    columns = raw["feature_names"].tolist()
    if not columns and raw["x_train"].ndim == 2:  # generated data: name the columns x1, x2, ...
        columns = [f"x{index + 1}" for index in range(raw["x_train"].shape[1])]
    info: dict[str, Any] = {
        "source": str(raw["source"]),
        "inputs": settings.inputs,  # images, windows or rows (tinynets.common.facts.input_kind)
        "columns": columns,  # the raw input columns, as a file to predict on must name them
        "target_column": getattr(data, "target", None),  # a CSV's: allowed (and ignored) in such a file
        "text_columns": raw["text_names"].tolist() if "text_names" in raw else [],
        "input_shape": list(raw["x_train"].shape[1:]),
        "scaler": fit_scaler(data.scaler, raw["x_train"] if series is None else series).stats(),
        "categories": fit_categories(raw["text_train"]) if _has_text(raw) else [],
    }
    arrays = {f"x_{split}": inputs(raw[f"x_{split}"], raw.get(f"text_{split}"), info) for split in splits}
    encoded = [
        f"{column}={category}"
        for column, names in zip(info["text_columns"], info["categories"], strict=True)
        for category in names
    ]
    info["feature_names"] = columns + encoded if arrays["x_train"].ndim == 2 else []
    if is_classifier(settings.loss):
        arrays |= {f"y_{split}": raw[f"y_{split}"] for split in splits}
    else:
        targets = fit_scaler(data.target_scaler, raw["y_train"] if series is None else series[:, :1])
        # float64, so that evaluate's inverse gives the targets back to the last digit
        for key in (f"y_{split}" for split in splits):
            arrays[key] = raw[key] if targets.kind == "none" else targets.transform(raw[key], np.float64)
        info["target_names"] = raw["target_names"].tolist()
        info["target_scaler"] = targets.stats()
    info["train_rows"] = rows_digest(raw, "train")  # what cross-validation validates on
    if "x_valid" in raw:
        info["valid_rows"] = rows_digest(raw, "valid")
    if series is not None:
        info["forecast"] = forecast_facts(raw, data.time, data.missing)
    facts = DataFacts.of(arrays["x_train"], arrays["y_train"])
    if is_classifier(settings.loss):
        labels = raw["target_names"].tolist()
        order = class_order(name, data.classes, labels)
        if order is not None:  # data.classes lists the labels in another order: number them so
            for key in (f"y_{split}" for split in splits):
                arrays[key] = np.asarray(order)[arrays[key].astype(np.int64)].astype(arrays[key].dtype)
        facts = dataclasses.replace(facts, labels=tuple(labels))
        info["classes"] = class_names(settings, class_count(name, settings.loss, facts), labels)
    info["facts"] = facts.as_dict()
    return arrays, info


def rows_digest(raw: dict[str, np.ndarray], split: str) -> str:
    """A short digest of a split's raw rows (their ids where the source gives them, else their inputs and text
    columns; their targets): two runs whose digests match were measured on the same rows, whatever their
    scalers, models or (with ids) input columns."""
    import hashlib

    digest = hashlib.sha256()
    identity = (f"{split}_ids",) if f"{split}_ids" in raw else (f"x_{split}", f"text_{split}")
    for key in (*identity, f"y_{split}"):
        if key in raw:
            digest.update(np.ascontiguousarray(raw[key]).tobytes())
    return digest.hexdigest()[:12]


def forecast_facts(raw: dict[str, np.ndarray], time_column: str | None, missing: str) -> dict[str, Any]:
    """What scoring, plotting and predicting a forecast need: the window and horizon, the time column, each
    step's time label, the step each test window forecasts first, how gaps are handled, and MASE's scale."""
    return {
        "window": int(raw["x_train"].shape[1]),
        "horizon": int(raw["y_train"].shape[1]),
        "time": time_column,
        "missing": missing,  # how a gap among the recent steps is handled, as in training
        "mase_scale": mase_scale(raw["fit_rows"][:, 0]),
        "test_targets": raw["test_targets"].tolist(),
        "times": raw["times"].tolist(),
    }


def mase_scale(train_period: np.ndarray) -> float:
    """MASE's denominator: the in-sample MAE of the one-step naive forecast over the train period (Hyndman)."""
    return float(np.mean(np.abs(np.diff(train_period))))


def _has_text(raw: dict[str, np.ndarray]) -> bool:
    return "text_train" in raw and raw["text_train"].shape[1] > 0

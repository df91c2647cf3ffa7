"""A forecast's scores in the series' own units, and the forecasts a net must beat: the last value (naive), the
value one season back (seasonal naive), and a linear model of the window.

A forecast that does not beat the last value has learned nothing; MASE says it in one number (below 1: better
than the train period's one-step naive forecast, Hyndman's definition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics as sk
from threadpoolctl import threadpool_limits

from tinynets.evaluation.baselines import as_rows, model_repr, models
from tinynets.evaluation.metrics import regression, rounded
from tinynets.preprocess import from_stats

if TYPE_CHECKING:
    from tinynets.params import EvaluateConfig


def forecast_metrics(y_true: np.ndarray, y_pred: np.ndarray, mase_scale: float) -> dict[str, Any]:
    """MSE, MAE, RMSE and MASE (MAE over the train period's mean one-step change) over every step ahead, R²
    averaged over the steps, and the MAE of each step ahead ("1", "2", ...), all in the series' units."""
    scores = regression(y_true, y_pred)
    scores["rmse"] = rounded(np.sqrt(sk.mean_squared_error(y_true, y_pred)))  # over every step, pooled
    if mase_scale > 0:  # a train period that never changes has no naive error to scale by
        scores["mase"] = rounded(sk.mean_absolute_error(y_true, y_pred) / mase_scale)
    by_step = sk.mean_absolute_error(y_true, y_pred, multioutput="raw_values")
    scores["mae_by_step"] = {str(step): rounded(mae) for step, mae in enumerate(by_step, start=1)}
    return scores


def last_values(x: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    """Each window's target column (the first) back in the series' units: (windows, window steps)."""
    return from_stats(info["scaler"]).inverse(x)[:, :, 0]


def naive(x: np.ndarray, horizon: int, info: dict[str, Any]) -> np.ndarray:
    """The last value of each window, repeated over the horizon."""
    return np.repeat(last_values(x, info)[:, -1:], horizon, axis=1)


def seasonal_naive(x: np.ndarray, horizon: int, season: int, info: dict[str, Any]) -> np.ndarray:
    """For each step ahead, the value at the same point of the last season the window holds."""
    values, window = last_values(x, info), x.shape[1]
    # step h (1-based) is forecast by the step a whole number of seasons before it, inside the window
    back = [window + h - 1 - season * -(-h // season) for h in range(1, horizon + 1)]
    return values[:, back]


def forecast_baselines(
    split: dict[str, np.ndarray], info: dict[str, Any], season: int | None, config: EvaluateConfig
) -> dict[str, Any]:
    """Each forecast baseline's description and scores on test (and validation, under `valid`): naive,
    seasonal_naive (with a season) and linear (Ridge on the flattened window, fitted on the train windows)."""
    if not config.baselines:
        return {"skipped": "evaluate.baselines is false in params.yaml"}
    horizon, scale = split["y_train"].shape[1], info["forecast"]["mase_scale"]
    periods = [period for period in ("test", "valid") if f"x_{period}" in split]
    forecasts: dict[str, tuple[str, dict[str, np.ndarray]]] = {
        "naive": ("the last value", {period: naive(split[f"x_{period}"], horizon, info) for period in periods})
    }
    if season is not None:
        forecasts["seasonal_naive"] = (
            f"the value {season} steps back",
            {period: seasonal_naive(split[f"x_{period}"], horizon, season, info) for period in periods},
        )
    block: dict[str, Any] = {}
    x_train = as_rows(split["x_train"])
    linear = models(is_classifier=False)["linear"]
    with threadpool_limits(1):  # the same bits on any machine, as for every baseline
        linear.fit(x_train, split["y_train"])
        predicted = {period: linear.predict(as_rows(split[f"x_{period}"])) for period in periods}
    forecasts["linear"] = (model_repr(linear), predicted)
    for kind, (description, by_period) in forecasts.items():
        block[kind] = {"model": description, **forecast_metrics(split["y_test"], by_period["test"], scale)}
        if "valid" in by_period:
            block[kind]["valid"] = forecast_metrics(split["y_valid"], by_period["valid"], scale)
    return block

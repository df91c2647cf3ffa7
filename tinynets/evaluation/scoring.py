"""Evaluation: a trained net's raw test outputs become predictions, metrics beside baselines, and plot data.

No torch here: the train stage wrote the outputs, so the evaluate stage imports only numpy and
scikit-learn, and an edit to how models are scored never retrains one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynets.evaluation import metrics
from tinynets.evaluation.baselines import score_baselines
from tinynets.params import EvaluateConfig
from tinynets.preprocess import from_stats

SAMPLE_IMAGES = 32


def evaluate(
    net: dict[str, np.ndarray],
    training: dict[str, Any],
    features: dict[str, np.ndarray],
    info: dict[str, Any],
    config: EvaluateConfig,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metrics JSON of a trained net (with its baselines), and the arrays its plots are drawn from.

    `net` holds the train stage's outputs, `training` its facts, `features` and `info` the featurize
    stage's arrays and description.
    """
    loss, outputs = training["loss"], net["outputs"]
    scores: dict[str, Any] = {"loss": metrics.rounded(float(net["loss"]))}
    if "classes" in info:
        classes = info["classes"]
        y_true, y_train = metrics.as_labels(features["y_test"]), metrics.as_labels(features["y_train"])
        y_pred = metrics.predicted_labels(outputs, loss)
        probabilities = metrics.class_probabilities(outputs, loss)
        scores |= metrics.classification(y_true, y_pred, classes, probabilities)
        scores |= metrics.per_class(y_true, y_pred, classes)
        scores["classes"] = classes
        arrays = {"y_true": y_true, "y_pred": y_pred, "classes": np.array(classes, dtype=str)}
        if len(classes) == 2:
            arrays |= metrics.curves(y_true, probabilities)
    else:
        classes = None
        targets = from_stats(info["target_scaler"])
        y_true, y_train = targets.inverse(features["y_test"]), targets.inverse(features["y_train"])
        y_pred = targets.inverse(outputs)
        scores |= metrics.regression(y_true, y_pred)
        arrays = {"y_true": y_true, "y_pred": y_pred}
    split = {"x_train": features["x_train"], "y_train": y_train, "x_test": features["x_test"], "y_test": y_true}
    scores["baseline"] = score_baselines(split, classes, config)
    scores |= {"n_train": len(features["x_train"]), "n_test": len(features["x_test"]), "source": info["source"]}
    scores |= {key: training[key] for key in ("epochs", "device")}
    if "grid_outputs" in net:
        grid_class = metrics.predicted_labels(net["grid_outputs"], loss).reshape(net["grid_x"].shape)
        arrays |= {"grid_x": net["grid_x"], "grid_y": net["grid_y"], "grid_class": grid_class}
        arrays["x_test"] = features["x_test"]
    if features["x_test"].ndim == 3:  # images: keep a few for the sample grid
        arrays["images"] = features["x_test"][:SAMPLE_IMAGES]
    return scores, arrays

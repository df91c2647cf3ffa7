"""Evaluation: a trained net's raw test outputs become predictions, metrics beside baselines, and plot data.

No torch here: the train stage wrote the outputs, so the evaluate stage imports only numpy and
scikit-learn, and an edit to how models are scored never retrains one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynets.evaluation import decisions, metrics
from tinynets.evaluation.baselines import score_baselines
from tinynets.params import EvaluateConfig
from tinynets.preprocess import from_stats

SAMPLE_IMAGES = 32
TRAINING_FACTS = ("epochs", "device", "parameters", "best_epoch", "stopped_epoch", "seeds")
SPREAD_METRICS = {True: ("accuracy", "f1_macro", "loss"), False: ("mae", "r2", "loss")}  # by is-classifier


def spread(
    net: dict[str, np.ndarray],
    training: dict[str, Any],
    y_true: np.ndarray,
    classes: list[str] | None,
    info: dict[str, Any],
) -> dict[str, dict[str, float]]:
    """Mean, standard deviation, min and max over the seeds of train.repeats, for the headline metrics."""
    per_seed = []
    for outputs, loss in zip(net["repeat_outputs"], net["repeat_losses"], strict=True):
        if classes is None:
            scores = metrics.regression(y_true, from_stats(info["target_scaler"]).inverse(outputs))
        else:
            scores = metrics.classification(y_true, decisions.predicted_labels(outputs, training["loss"]), classes)
        per_seed.append({**scores, "loss": float(loss)})
    result = {}
    for key in SPREAD_METRICS[classes is not None]:
        values = np.array([scores[key] for scores in per_seed])
        result[key] = {
            "mean": metrics.rounded(values.mean()),
            "std": metrics.rounded(values.std(ddof=1)),
            "min": metrics.rounded(values.min()),
            "max": metrics.rounded(values.max()),
        }
    return result


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
        y_true, y_train = decisions.as_labels(features["y_test"]), decisions.as_labels(features["y_train"])
        y_pred = decisions.predicted_labels(outputs, loss)
        probabilities = decisions.class_probabilities(outputs, loss)
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
    scores |= {key: training[key] for key in TRAINING_FACTS if key in training}
    if "repeat_outputs" in net:
        scores["spread"] = spread(net, training, y_true, classes, info)
    if "grid_outputs" in net:
        grid_class = decisions.predicted_labels(net["grid_outputs"], loss).reshape(net["grid_x"].shape)
        arrays |= {"grid_x": net["grid_x"], "grid_y": net["grid_y"], "grid_class": grid_class}
        arrays["x_test"] = features["x_test"]
    if features["x_test"].ndim == 3:  # images: keep a few for the sample grid
        arrays["images"] = features["x_test"][:SAMPLE_IMAGES]
    return scores, arrays

"""Evaluation: a trained net's raw test outputs become predictions, metrics beside baselines, and plot data.

No torch here: the train stage wrote the outputs, so the evaluate stage imports only numpy and
scikit-learn, and an edit to how models are scored never retrains one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tinynets.evaluation import decisions, metrics
from tinynets.evaluation.baselines import score_baselines
from tinynets.evaluation.forecasts import forecast_baselines, forecast_metrics, last_values, naive
from tinynets.evaluation.row_losses import ROW_LOSSES
from tinynets.measures import spread_of
from tinynets.preprocess import from_stats

if TYPE_CHECKING:
    from tinynets.params import EvaluateConfig

SAMPLE_IMAGES = 32
MISTAKES = 24  # misclassified test images drawn in mistakes.png, in test order
TRAINING_FACTS = (
    *("epochs", "device", "parameters", "best_epoch", "stopped_epoch", "seeds"),
    *("folds", "fold_best_epochs", "refit_epochs"),  # cross-validation's
)


def own_terms(y: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    """Targets in their own terms: class indices, or values in the target's units."""
    if "classes" in info:
        return decisions.as_labels(y)
    return from_stats(info["target_scaler"]).inverse(y)


def headline_metrics(
    y_true: np.ndarray, outputs: np.ndarray, loss: str, classes: list[str] | None, info: dict[str, Any]
) -> dict[str, float]:
    """The headline metrics of a net's raw outputs: accuracy, macro averages (and ROC AUC), or MSE, MAE, R² (and a
    forecast's RMSE, MASE and MAE per step ahead)."""
    if classes is None:
        predicted = from_stats(info["target_scaler"]).inverse(outputs)
        if "forecast" in info:
            return forecast_metrics(y_true, predicted, info["forecast"]["mase_scale"])
        return metrics.regression(y_true, predicted)
    labels, probabilities = decisions.predicted_labels(outputs, loss), decisions.class_probabilities(outputs, loss)
    return metrics.classification(y_true, labels, classes, probabilities)


def seed_metrics(
    outputs: np.ndarray,
    losses: np.ndarray,
    seeds: list[int],
    y_true: np.ndarray,
    loss: str,
    classes: list[str] | None,
    info: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Over the seeds of train.repeats, for the headline metrics: `spread` (mean, standard deviation, min, max)
    and `per_seed`, each seed's value by seed (what `tinynets compare` tests a difference on; numbers under
    keys, not a list, as DVC's experiment table keeps only numbers)."""
    scored = [
        {**headline_metrics(y_true, seed_outputs, loss, classes, info), "loss": float(seed_loss)}
        for seed_outputs, seed_loss in zip(outputs, losses, strict=True)
    ]
    return seeds_block(scored, seeds, classes is not None)


def seeds_block(scored: list[dict[str, Any]], seeds: list[int], classify: bool) -> dict[str, dict[str, Any]]:
    """`spread` and `per_seed` from each seed's metrics (`scored`, in seed order)."""
    block: dict[str, dict[str, Any]] = {"spread": {}, "per_seed": {}}
    for key in spread_of(classify):
        values = np.array([scores[key] for scores in scored])
        block["spread"][key] = {
            "mean": metrics.rounded(values.mean()),
            "std": metrics.rounded(values.std(ddof=1)),
            "min": metrics.rounded(values.min()),
            "max": metrics.rounded(values.max()),
        }
    for key, value in scored[0].items():  # every headline metric, to compare on any of them
        if isinstance(value, float):
            values = [scores[key] for scores in scored]
            block["per_seed"][key] = {str(seed): metrics.rounded(v) for seed, v in zip(seeds, values, strict=True)}
    return block


def fold_metrics(
    outputs: np.ndarray,
    numbers: np.ndarray,
    seeds: list[int],
    y_true: np.ndarray,
    y: np.ndarray,
    loss: str,
    classes: list[str] | None,
    info: dict[str, Any],
) -> dict[str, Any]:
    """Cross-validation's validation metrics: each fold's, by "seed/fold" (`per_fold`: what `tinynets compare`
    tests a difference on), their mean (the headline), and with several seeds each seed's mean over its folds
    (`per_seed`) and their spread. `outputs` (seeds, rows, ...) are each train row's from its fold's net,
    `numbers` (seeds, rows) each row's fold, `y_true` the train targets in their own terms, `y` as trained on."""
    row_loss = row_values(outputs, y, loss, classes, info)["valid_rows_loss"]
    scored: dict[str, dict[str, float]] = {}
    by_seed: list[list[dict[str, float]]] = []
    for seed, seed_outputs, folds, losses in zip(seeds, outputs, numbers, row_loss, strict=True):
        by_seed.append([])
        for fold in range(int(folds.max()) + 1):
            held = folds == fold
            found = headline_metrics(y_true[held], seed_outputs[held], loss, classes, info)
            by_seed[-1].append({**found, "loss": float(losses[held].mean())})
            scored[f"{seed}/{fold}"] = by_seed[-1][-1]
    every = list(scored.values())
    keys = [key for key, value in every[0].items() if isinstance(value, float) and all(key in one for one in every)]
    block: dict[str, Any] = {key: metrics.rounded(np.mean([one[key] for one in every])) for key in keys}
    block["folds"] = int(numbers.max()) + 1
    block["per_fold"] = {key: {name: metrics.rounded(one[key]) for name, one in scored.items()} for key in keys}
    if len(seeds) > 1:
        means = [{key: float(np.mean([one[key] for one in folds])) for key in keys} for folds in by_seed]
        block |= seeds_block(means, seeds, classes is not None)
    return block


def row_values(
    outputs: np.ndarray, y: np.ndarray, loss: str, classes: list[str] | None, info: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Each seed's values on each validation row, (seeds, rows) each, whose means over the rows are the split's
    accuracy (`correct`), MAE (`abs_error`), MSE (`sq_error`) and loss, kept beside the predictions: which rows
    each seed gets right or wrong (a net that misses the same rows with every seed shows it here, where the
    seeds' figures cannot). `outputs` are the raw outputs of every seed, `y` the split's targets as trained on."""
    raw = outputs.astype(np.float64)
    if classes is not None:
        labels = decisions.as_labels(y)
        correct = np.stack([decisions.predicted_labels(seed, loss) == labels for seed in outputs])
        return {"valid_rows_correct": correct.astype(np.float64), "valid_rows_loss": ROW_LOSSES[loss](raw, y)}
    scaler, y = from_stats(info["target_scaler"]), np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    errors = np.stack([scaler.inverse(seed) for seed in raw]) - scaler.inverse(y)
    return {
        "valid_rows_abs_error": np.abs(errors).mean(axis=2),
        "valid_rows_sq_error": (errors**2).mean(axis=2),
        "valid_rows_loss": ROW_LOSSES[loss](raw, y),
    }


def forecast_arrays(features: dict[str, np.ndarray], info: dict[str, Any]) -> dict[str, np.ndarray]:
    """What the forecast plot draws beside the net's: the naive forecast of the test windows, the time label of
    each one's first target step, and the last test window's inputs in the series' units."""
    facts = info["forecast"]
    horizon, window, x_test = facts["horizon"], facts["window"], features["x_test"]
    times, targets = np.asarray(facts["times"], dtype=str), facts["test_targets"]
    last = targets[-1]  # the first step the last test window forecasts
    return {
        "naive": naive(x_test, horizon, info),
        "steps": np.asarray(targets),  # where each one lies on the timeline: windows left out leave gaps
        "times": times[targets],
        "last_window": last_values(x_test[-1:], info)[0],
        "last_window_times": times[last - window : last],
        "horizon_times": times[last : last + horizon],
    }


def evaluate(
    net: dict[str, np.ndarray],
    training: dict[str, Any],
    features: dict[str, np.ndarray],
    info: dict[str, Any],
    config: EvaluateConfig,
    season: int | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metrics JSON of a trained net (with its baselines), and the arrays its plots are drawn from.

    `net` holds the train stage's outputs, `training` its facts, `features` and `info` the featurize
    stage's arrays and description; `season` a forecast's for its seasonal naive baseline.
    """
    loss, outputs = training["loss"], net["outputs"]
    classes = info.get("classes")
    scores: dict[str, Any] = {"loss": metrics.rounded(float(net["loss"]))}
    targets = {
        split: own_terms(features[f"y_{split}"], info)
        for split in ("train", "valid", "test")
        if f"y_{split}" in features
    }
    y_true = targets["test"]
    scores |= headline_metrics(y_true, outputs, loss, classes, info)
    if classes is not None:
        y_pred = decisions.predicted_labels(outputs, loss)
        scores |= metrics.per_class(y_true, y_pred, classes)
        scores["classes"] = classes
        arrays = {"y_true": y_true, "y_pred": y_pred, "classes": np.array(classes, dtype=str)}
        if len(classes) == 2:
            arrays |= metrics.curves(y_true, decisions.class_probabilities(outputs, loss))
    else:
        arrays = {"y_true": y_true, "y_pred": from_stats(info["target_scaler"]).inverse(outputs)}
    if "valid_outputs" in net:  # what a user compares variants on: the test split only reports
        by_seed = net.get("repeat_valid_outputs", net["valid_outputs"][np.newaxis])
        if "valid_folds" in net:  # cross-validation: every train row, each scored by the net of its fold
            y_valid, valid_true = features["y_train"], targets["train"]
            numbers = net["valid_folds"]
            scores["valid"] = fold_metrics(
                by_seed, numbers, training["seeds"], valid_true, y_valid, loss, classes, info
            )
            rows = f"{int(numbers.max()) + 1} folds of {info['train_rows']}"  # any seed's folds: the same rows
        else:
            y_valid, valid_true, rows = features["y_valid"], targets["valid"], info["valid_rows"]
            valid = headline_metrics(valid_true, net["valid_outputs"], loss, classes, info)
            scores["valid"] = {"loss": metrics.rounded(float(net["valid_loss"])), **valid}
            if "repeat_valid_outputs" in net:
                repeats = net["repeat_valid_outputs"], net["repeat_valid_losses"]
                scores["valid"] |= seed_metrics(*repeats, training["seeds"], valid_true, loss, classes, info)
        arrays |= row_values(by_seed, y_valid, loss, classes, info)
        scores["valid"]["rows"] = rows  # compare ranks together only metrics on the same rows
        # a loss is comparable under the same loss function, and a regressor's on targets scaled alike
        scaled = f", targets scaled {info['target_scaler']['kind']}" if classes is None else ""
        scores["valid"]["loss_units"] = f"{loss}{scaled}"
    rows = {f"x_{split}": features[f"x_{split}"] for split in targets}
    split = rows | {f"y_{split}": y for split, y in targets.items()}
    if "forecast" in info:
        scores["forecast"] = {"window": info["forecast"]["window"], "horizon": info["forecast"]["horizon"]}
        scores["baseline"] = forecast_baselines(split, info, season, config)
        arrays |= forecast_arrays(features, info)
    else:
        scores["baseline"] = score_baselines(split, classes, config)
    scores |= {"n_train": len(features["x_train"]), "n_test": len(features["x_test"]), "source": info["source"]}
    scores |= {key: training[key] for key in TRAINING_FACTS if key in training}
    if "repeat_outputs" in net:
        repeats = net["repeat_outputs"], net["repeat_losses"], training["seeds"]
        scores |= seed_metrics(*repeats, y_true, loss, classes, info)
    if "grid_outputs" in net:
        grid_class = decisions.predicted_labels(net["grid_outputs"], loss).reshape(net["grid_x"].shape)
        arrays |= {"grid_x": net["grid_x"], "grid_y": net["grid_y"], "grid_class": grid_class}
        arrays["x_test"] = features["x_test"]
    if info["inputs"] == "images":  # keep a few for the sample grid
        arrays["images"] = features["x_test"][:SAMPLE_IMAGES]
        if classes is not None:
            arrays |= mistakes(features["x_test"], y_true, outputs, loss)
    elif info.get("feature_names"):  # what network.png labels its inputs with
        arrays["feature_names"] = np.array(info["feature_names"], dtype=str)
    return scores, arrays


def mistakes(images: np.ndarray, y_true: np.ndarray, outputs: np.ndarray, loss: str) -> dict[str, np.ndarray]:
    """The first misclassified test images, with their true class and the net's three likeliest guesses."""
    wrong = np.flatnonzero(decisions.predicted_labels(outputs, loss) != y_true)[:MISTAKES]
    top, probabilities = decisions.top_guesses(outputs[wrong], loss)
    return {
        "mistake_images": images[wrong],
        "mistake_true": y_true[wrong],
        "mistake_top": top,
        "mistake_probabilities": probabilities,
    }

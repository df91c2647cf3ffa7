"""Reference models beside every net: a trivial one (the most frequent class, the mean) and a linear one.

Fitted on the same train split and features the net saw, scored on the same test split with the same
metrics, so a user sees at once whether the net learned anything a straight line could not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from tinynets.common.pixels import PIXEL_SCALE
from tinynets.evaluation.metrics import classification, regression

if TYPE_CHECKING:
    from tinynets.params import EvaluateConfig


def as_rows(x: np.ndarray) -> np.ndarray:
    """Inputs as the net sees them, one flat row per sample (uint8 images become floats in [0, 1])."""
    rows = x.reshape(len(x), -1)
    return rows * PIXEL_SCALE if rows.dtype == np.uint8 else rows


def models(is_classifier: bool, by_sgd: bool = False) -> dict[str, Any]:
    """The trivial and the linear model, unfitted; by_sgd: the logistic regression fitted by 10 epochs of SGD.

    lbfgs fits a logistic regression to convergence, but takes 40 s on MNIST's 60,000 x 784 where SGD takes
    7 s for an accuracy 0.01 lower (evaluate.baseline_sgd_above_cells decides). Ridge is closed-form, quick
    at any size.
    """
    if is_classifier:
        from sklearn.dummy import DummyClassifier
        from sklearn.linear_model import LogisticRegression, SGDClassifier

        # SGD's one-vs-rest fits take their seeds from random_state before they run: the same bits at any n_jobs.
        linear = (
            SGDClassifier(loss="log_loss", max_iter=10, tol=None, random_state=0, n_jobs=-1)
            if by_sgd
            else LogisticRegression(max_iter=1000)
        )
        return {"trivial": DummyClassifier(strategy="most_frequent"), "linear": linear}
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    return {"trivial": DummyRegressor(strategy="mean"), "linear": Ridge()}


def model_repr(model: Any) -> str:
    """A model's class and the options that differ from its defaults, e.g. LogisticRegression(max_iter=1000)."""
    return repr(model).replace("\n", "").replace(" ", "")


def score_baselines(split: dict[str, np.ndarray], classes: list[str] | None, config: EvaluateConfig) -> dict[str, Any]:
    """Each baseline's model and test metrics (and validation metrics, under `valid`), or why it was skipped.

    `split` holds x_train, y_train, x_test, y_test (and x_valid, y_valid): features as the net saw them,
    targets in their units (class indices for a classifier, given `classes`). The baselines fit on exactly
    the rows the net trained on.
    """
    if not config.baselines:
        return {"skipped": "evaluate.baselines is false in params.yaml"}
    x_train, x_test = as_rows(split["x_train"]), as_rows(split["x_test"])
    block: dict[str, Any] = {}
    for kind, model in models(classes is not None, by_sgd=x_train.size > config.baseline_sgd_above_cells).items():
        y_train = split["y_train"] if classes is None else split["y_train"].ravel()
        # One BLAS thread: the same bits on any machine, and twice as fast here as two for these small fits.
        with threadpool_limits(1):
            model.fit(x_train, y_train)
            block[kind] = {"model": model_repr(model), **_scores(model, x_test, split["y_test"], classes)}
            if "x_valid" in split:
                block[kind]["valid"] = _scores(model, as_rows(split["x_valid"]), split["y_valid"], classes)
    return block


def _scores(model: Any, x: np.ndarray, y: np.ndarray, classes: list[str] | None) -> dict[str, Any]:
    predicted = model.predict(x)
    if classes is None:
        return regression(y, predicted)
    return classification(y, predicted, classes, _full_probabilities(model, x, len(classes)))


def _full_probabilities(model: Any, x: np.ndarray, n_classes: int) -> np.ndarray:
    # A class absent from the train split has no column in predict_proba; give it probability 0.
    probabilities = np.zeros((len(x), n_classes))
    probabilities[:, model.classes_.astype(int)] = model.predict_proba(x)
    return probabilities

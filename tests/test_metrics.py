import numpy as np
import pytest
from sklearn import metrics as reference

from tinynets import metrics


def test_classification_matches_sklearn_including_a_never_predicted_class():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))  # class 3 is rarely predicted
    y_pred[y_pred == 3] = 0
    scores = metrics.classification(y_true, y_pred, 4)
    assert scores["accuracy"] == pytest.approx(reference.accuracy_score(y_true, y_pred), abs=1e-6)
    for ours, theirs in [
        ("precision_macro", reference.precision_score),
        ("recall_macro", reference.recall_score),
        ("f1_macro", reference.f1_score),
    ]:
        assert scores[ours] == pytest.approx(theirs(y_true, y_pred, average="macro", zero_division=0), abs=1e-6)
    assert scores["confusion_matrix"] == reference.confusion_matrix(y_true, y_pred, labels=range(4)).tolist()
    assert scores["per_class"]["3"]["precision"] == 0.0
    assert sum(c["support"] for c in scores["per_class"].values()) == 200


def test_regression_matches_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(100, 1))
    y_pred = y_true + rng.normal(scale=0.3, size=(100, 1))
    scores = metrics.regression(y_true, y_pred)
    assert scores["mse"] == pytest.approx(reference.mean_squared_error(y_true, y_pred), rel=1e-5)
    assert scores["mae"] == pytest.approx(reference.mean_absolute_error(y_true, y_pred), rel=1e-5)
    assert scores["r2"] == pytest.approx(reference.r2_score(y_true, y_pred), rel=1e-5)

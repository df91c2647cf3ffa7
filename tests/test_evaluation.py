import numpy as np
import pytest
from sklearn.datasets import make_classification

from tinynets.evaluation import decisions, metrics
from tinynets.evaluation.baselines import score_baselines
from tinynets.evaluation.scoring import evaluate
from tinynets.params import EvaluateConfig


def test_per_class_figures_and_the_confusion_matrix_are_keyed_by_class_name():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    scores = metrics.per_class(y_true, y_pred, ["setosa", "versicolor", "virginica"])
    assert list(scores["per_class"]) == ["setosa", "versicolor", "virginica"]
    assert scores["per_class"]["versicolor"] == {"precision": 0.666667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert scores["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_a_class_never_predicted_scores_zero_not_an_error():
    scores = metrics.per_class(np.array([0, 1, 2]), np.array([0, 1, 1]), ["a", "b", "c"])
    assert scores["per_class"]["c"]["precision"] == 0.0


def test_probabilities_from_logits_sum_to_one_and_bce_uses_the_sign():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    probabilities = decisions.class_probabilities(logits, "cross_entropy")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1)
    assert decisions.predicted_labels(np.array([[0.3], [-0.2]]), "bce_with_logits").tolist() == [1, 0]


def two_class_split(separable: bool) -> dict[str, np.ndarray]:
    x, y = make_classification(400, n_features=4, class_sep=3.0 if separable else 0.0, random_state=0)
    return {"x_train": x[:300], "y_train": y[:300], "x_test": x[300:], "y_test": y[300:]}


def test_baselines_fit_on_train_and_score_test_with_the_same_metrics():
    block = score_baselines(two_class_split(separable=True), ["no", "yes"], EvaluateConfig())
    assert block["linear"]["model"].startswith("LogisticRegression")
    assert block["linear"]["accuracy"] > 0.95
    assert block["trivial"]["roc_auc"] == 0.5
    assert {"accuracy", "f1_macro", "precision_macro", "recall_macro"} <= block["trivial"].keys()


def test_a_large_train_split_gets_a_logistic_regression_fitted_by_sgd_and_switching_baselines_off_is_said():
    split = two_class_split(separable=True)
    block = score_baselines(split, ["no", "yes"], EvaluateConfig(baseline_sgd_above_cells=100))
    assert block["linear"]["model"].startswith("SGDClassifier(loss='log_loss'")
    assert block["linear"]["accuracy"] > 0.95
    assert score_baselines(split, ["no", "yes"], EvaluateConfig(baseline_sgd_above_cells=100)) == block
    off = score_baselines(split, ["no", "yes"], EvaluateConfig(baselines=False))
    assert off == {"skipped": "evaluate.baselines is false in params.yaml"}


def test_regression_is_scored_in_the_targets_units():
    rng = np.random.default_rng(0)
    y = rng.normal(150, 40, (50, 1))
    offset, scale = 150.0, 1 / 40
    features = {
        "x_train": rng.normal(size=(50, 3)).astype(np.float32),
        "y_train": (y - offset) * scale,
        "x_test": rng.normal(size=(50, 3)).astype(np.float32),
        "y_test": (y - offset) * scale,
    }
    info = {
        "target_scaler": {"kind": "standard", "offset": [offset], "scale": [scale]},
        "source": "test",
        "inputs": "rows",
    }
    net = {"outputs": ((y + 4 - offset) * scale).astype(np.float32), "loss": np.array(0.01)}
    scores, arrays = evaluate(net, {"loss": "mse", "epochs": 1, "device": "cpu"}, features, info, EvaluateConfig())
    assert scores["mae"] == pytest.approx(4, rel=1e-5)  # in the target's units, not the scaled ones
    np.testing.assert_allclose(arrays["y_true"], y)


def test_each_seeds_per_row_errors_average_to_its_validation_figures_for_one_dimensional_targets():
    # A CSV's or sklearn's regression targets are one column of shape (rows,): errors row by row, not all pairs.
    rng = np.random.default_rng(1)
    y = rng.normal(150, 40, 30)
    offset, scale = 150.0, 1 / 40
    features = {"x_train": rng.normal(size=(30, 3)).astype(np.float32), "y_train": (y - offset) * scale}
    features |= {"x_test": features["x_train"], "y_test": features["y_train"]}
    features |= {"x_valid": features["x_train"], "y_valid": features["y_train"]}
    info = {"target_scaler": {"kind": "standard", "offset": [offset], "scale": [scale]}, "source": "test"}
    info |= {"inputs": "rows", "valid_rows": "0123456789ab"}
    off = np.stack([(y + shift - offset) * scale for shift in (2.0, -5.0)])[:, :, None]  # two seeds: +2, -5
    net = {"outputs": off[0], "loss": np.array(0.0), "valid_outputs": off[0], "valid_loss": np.array(0.0)}
    net |= {"repeat_valid_outputs": off, "repeat_valid_losses": np.zeros(2), "repeat_outputs": off}
    net |= {"repeat_losses": np.zeros(2)}
    training = {"loss": "mse", "epochs": 1, "device": "cpu", "seeds": [42, 43]}
    scores, arrays = evaluate(net, training, features, info, EvaluateConfig(baselines=False))
    assert arrays["valid_rows_abs_error"].mean(axis=1) == pytest.approx([2, 5])
    assert arrays["valid_rows_sq_error"].mean(axis=1) == pytest.approx([4, 25])
    assert list(scores["valid"]["per_seed"]["mae"].values()) == pytest.approx([2, 5], rel=1e-5)
    assert scores["valid"]["loss_units"] == "mse, targets scaled standard"


def test_macro_figures_weigh_every_class_alike():
    # 4 of 5 right, but the minority class is never found: micro F1 (= accuracy) 0.8, macro F1 (0.889 + 0) / 2
    scores = metrics.classification(np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, 0, 0]), ["major", "minor"])
    assert scores["accuracy"] == 0.8
    assert scores["f1_macro"] == pytest.approx(0.444444) and scores["recall_macro"] == 0.5
    assert scores["precision_macro"] == pytest.approx(0.4)


def test_validation_rows_get_their_own_figures_for_the_net_and_each_baseline():
    split = two_class_split(separable=True)
    features = {"x_train": split["x_train"][:200], "y_train": split["y_train"][:200], "x_test": split["x_test"]}
    features |= {"y_test": split["y_test"], "x_valid": split["x_train"][200:], "y_valid": split["y_train"][200:]}
    wrong = np.where(features["y_valid"][:, None] == 1, [[1.0]], [[-1.0]]) * -1  # every validation row wrong
    right = np.where(features["y_test"][:, None] == 1, [[1.0]], [[-1.0]])
    net = {"outputs": right, "loss": np.array(0.1), "valid_outputs": wrong, "valid_loss": np.array(2.0)}
    info = {"classes": ["no", "yes"], "source": "test", "inputs": "rows", "valid_rows": "0123456789ab"}
    scores, arrays = evaluate(
        net, {"loss": "bce_with_logits", "epochs": 1, "device": "cpu"}, features, info, EvaluateConfig()
    )
    assert scores["accuracy"] == 1.0 and scores["valid"]["accuracy"] == 0.0 and scores["valid"]["loss"] == 2.0
    assert scores["valid"]["rows"] == "0123456789ab"  # what compare ranks together on
    # per row, for compare's noise test: each wrong, each at a logit of 1 the wrong way: loss log(1 + e)
    assert arrays["valid_rows_correct"].shape == (1, len(wrong)) and not arrays["valid_rows_correct"].any()
    assert arrays["valid_rows_loss"] == pytest.approx(np.full((1, len(wrong)), np.log1p(np.e)))
    assert scores["n_train"] == 200
    assert scores["baseline"]["linear"]["valid"]["accuracy"] > 0.95


def test_balanced_accuracy_weighs_each_class_alike_and_is_ranked_searched_and_shown_as_declared():
    from tinynets.html_report import _metrics
    from tinynets.measures import METRICS, of_task
    from tinynets.ranking import better

    y_true = np.array([0] * 90 + [1] * 10)
    scores = metrics.classification(y_true, np.zeros(100, dtype=int), ["common", "rare"])
    assert scores["accuracy"] == 0.9 and scores["balanced_accuracy"] == 0.5  # the rare class never found
    assert better("balanced_accuracy") == 1 and "balanced_accuracy" in of_task("classifier")
    assert f"<td>{METRICS['balanced_accuracy'].label}</td>" in _metrics(scores | {"baseline": {}})

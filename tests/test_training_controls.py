"""The trainer's controls through the real dvc CLI: early stopping, schedules, repeats, conv nets, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import RUN, killed_after, make_repo, run, tiny_params, write_params

from tinynets.modelfile import load_model

pytestmark = pytest.mark.slow


def scores(repo, name: str) -> dict:
    return json.loads((repo / f"metrics/{name}.json").read_text())


def test_early_stopping_keeps_the_best_epoch_and_scores_well(workspace):
    params = tiny_params(RUN)
    params["datasets"]["iris"]["train"]["epochs"] = 20000
    write_params(workspace, params)
    run(workspace, "git", "commit", "-qam", "iris trains 20000 epochs")
    run(
        workspace, "dvc", "exp", "run", "-S", "datasets.iris.train.lr=0.1", "-S", "datasets.iris.train.valid_size=0.2",
        "-S", "datasets.iris.train.early_stopping={patience: 200}",
    )  # fmt: skip
    iris = scores(workspace, "iris")
    assert iris["stopped_epoch"] < 20000 / 2 and iris["best_epoch"] == iris["stopped_epoch"] - 200
    assert iris["accuracy"] >= 0.93
    lines = (workspace / "plots/loss/iris.tsv").read_text().splitlines()
    assert lines[0] == "epoch\ttrain\tvalid\ttest\tlr"
    # The saved model is the best epoch's: its validation loss is that epoch's, not the last one's (higher).
    valid_losses = [float(line.split("\t")[2]) for line in lines[1:]]
    assert iris["valid"]["loss"] == pytest.approx(valid_losses[iris["best_epoch"] - 1], rel=1e-5)
    assert valid_losses[-1] > valid_losses[iris["best_epoch"] - 1]


def test_a_validation_split_is_held_out_of_everything_fitted(workspace):
    run(workspace, "dvc", "exp", "run", "-S", "datasets.iris.train.valid_size=0.2")
    iris = scores(workspace, "iris")
    assert iris["n_train"] == 96 and iris["n_test"] == 30  # 150 rows: 120 train, of which 24 validate
    assert {"accuracy", "f1_macro", "loss"} <= iris["valid"].keys()
    for kind in ("trivial", "linear"):
        assert {"accuracy", "f1_macro"} <= iris["baseline"][kind]["valid"].keys()
    features = np.load(workspace / "data/features/iris.npz")
    assert len(features["x_train"]) == 96 and len(features["x_valid"]) == 24
    # minmax fitted on the 96 training rows alone: they span [0, 1] exactly, the held-out rows need not
    assert features["x_train"].min() == 0 and features["x_train"].max() == pytest.approx(1)
    prepared = np.load(workspace / "data/prepared/iris.npz")
    low, high = prepared["x_train"].min(axis=0), prepared["x_train"].max(axis=0)
    assert np.allclose(features["x_valid"], (prepared["x_valid"] - low) / (high - low), atol=1e-6)
    # the linear baseline is fitted on the net's 96 rows: refitted on them, it scores the same on both splits
    from sklearn.linear_model import LogisticRegression

    refit = LogisticRegression(max_iter=1000).fit(features["x_train"], features["y_train"])
    linear = iris["baseline"]["linear"]
    assert linear["accuracy"] == pytest.approx(refit.score(features["x_test"], features["y_test"]), rel=1e-5)
    assert linear["valid"]["accuracy"] == pytest.approx(refit.score(features["x_valid"], features["y_valid"]), rel=1e-5)


def test_a_schedule_sets_every_epochs_lr_and_repeats_report_the_spread(workspace):
    run(
        workspace, "dvc", "exp", "run", "-S", "datasets.iris.train.schedule={name: step, step_size: 100, gamma: 0.5}",
        "-S", "datasets.iris.train.repeats=3",
    )  # fmt: skip
    lrs = [float(line.split("\t")[-1]) for line in (workspace / "plots/loss/iris.tsv").read_text().splitlines()[1:]]
    assert lrs[0] == lrs[99] == 0.5 and lrs[100] == 0.25 and lrs[-1] == 0.125
    iris = scores(workspace, "iris")
    assert iris["seeds"] == [42, 43, 44]
    outputs = np.load(workspace / "data/outputs/iris.npz")
    losses = outputs["repeat_losses"]
    assert len(set(losses.tolist())) == 3  # three different models
    assert iris["loss"] == pytest.approx(losses[0], rel=1e-5)  # the headline figures are the first seed's
    y_test = np.load(workspace / "data/features/iris.npz")["y_test"]
    accuracies = np.array(
        [(seed_outputs.argmax(axis=1) == y_test).mean() for seed_outputs in outputs["repeat_outputs"]]
    )
    for key, values in (("loss", losses), ("accuracy", accuracies)):
        figures = iris["spread"][key]
        assert figures["mean"] == pytest.approx(values.mean(), rel=1e-5)
        assert figures["std"] == pytest.approx(values.std(ddof=1), rel=1e-5, abs=1e-9)
        assert (figures["min"], figures["max"]) == pytest.approx((values.min(), values.max()), rel=1e-5)
        assert list(iris["per_seed"][key].values()) == pytest.approx(values.tolist(), rel=1e-5)  # each seed's
    assert list(iris["per_seed"]["loss"]) == ["42", "43", "44"]
    summary = (workspace / "reports/summary.md").read_text()
    assert "±" in next(line for line in summary.splitlines() if line.startswith("| iris |"))


def test_a_declared_conv_net_trains_on_images(workspace):
    params = tiny_params(RUN)
    params["run"] = [*RUN, "mnist_cnn"]
    params["datasets"]["mnist_cnn"]["train"]["epochs"] = 3
    write_params(workspace, params)
    run(workspace, "dvc", "repro")
    cnn = scores(workspace, "mnist_cnn")
    conv, linear = (1 * 25 + 1) * 6 + (6 * 25 + 1) * 16, (400 + 1) * 120 + (120 + 1) * 10
    assert cnn["accuracy"] > 0.85 and cnn["parameters"] == conv + linear
    assert (workspace / "plots/images/mnist_cnn/samples.png").exists()
    page = (workspace / "reports/index.html").read_text()
    assert "conv2d (out_channels 6, kernel_size 5, stride 1, padding 2) → relu → maxpool2d (kernel_size 2)" in page


def weights(path) -> dict[str, torch.Tensor]:
    return load_model(path)["state_dict"]


def test_a_killed_run_with_every_control_resumes_bit_identically(tmp_path):
    params = tiny_params(["mnist"])
    params["datasets"]["mnist"]["model"] = {
        "blocks": [
            {"type": "flatten"},
            {"type": "linear", "out": 64},
            {"type": "relu"},
            {"type": "dropout", "p": 0.2},
            {"type": "linear", "out": "auto"},
        ]
    }
    params["datasets"]["mnist"]["train"] |= {
        "epochs": 200,
        "batch_size": 32,
        "lr": 0.1,
        "schedule": {"name": "plateau", "patience": 2},
        "valid_size": 0.2,
        "early_stopping": {"patience": 25},
        "repeats": 2,
    }
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro", "featurize@mnist")
    killed_after(repo, "mnist", repo / "checkpoints/mnist.1.pt")  # the second seed's checkpoint

    resumed = run(repo, "dvc", "repro", "train@mnist")
    assert "mnist (seed 43): resuming at epoch" in resumed.stdout
    assert "mnist: finished before the interruption, restored from its checkpoint" in resumed.stdout
    assert "mnist: resuming" not in resumed.stdout  # the first seed had stopped early: nothing to resume
    kept = weights(repo / "models/mnist.safetensors"), (repo / "data/outputs/mnist.npz").read_bytes()
    history = (repo / "plots/loss/mnist.tsv").read_bytes()

    run(repo, "dvc", "repro", "--force", "train@mnist")  # uninterrupted
    for key, tensor in weights(repo / "models/mnist.safetensors").items():
        assert torch.equal(kept[0][key], tensor), key
    assert (repo / "data/outputs/mnist.npz").read_bytes() == kept[1]
    assert (repo / "plots/loss/mnist.tsv").read_bytes() == history

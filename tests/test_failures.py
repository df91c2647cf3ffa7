"""A train stage that dies (SIGKILL) or diverges (NaN) leaves nothing that looks finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import make_repo, run, tiny_params, tool_env

pytestmark = pytest.mark.slow

FINAL_OUTPUTS = ("models/{}.pt", "plots/loss/{}.tsv", "runs/{}.json", "metrics/{}.json")


def finished_outputs(repo: Path, name: str) -> list[str]:
    return [pattern.format(name) for pattern in FINAL_OUTPUTS if (repo / pattern.format(name)).exists()]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_train_stage_resumes_to_the_same_model(tmp_path, signum):
    params = tiny_params(["mnist"])
    params["datasets"]["mnist"]["train"]["epochs"] = 40  # about 3 s: checkpoints are written every second
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro", "featurize@mnist")
    checkpoint = repo / "checkpoints/mnist.pt"

    train = [sys.executable, "-m", "stages.train", "mnist"]
    process = subprocess.Popen(
        train, cwd=repo, env=tool_env(repo), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpoint.exists(), "no checkpoint was written while training"
    process.send_signal(signum)
    assert process.wait() != 0
    assert finished_outputs(repo, "mnist") == []

    resumed = run(repo, "dvc", "repro", "train@mnist")
    assert "mnist: resuming at epoch" in resumed.stdout
    assert not checkpoint.exists()
    resumed_weights, resumed_history = weights(repo / "models/mnist.pt"), (repo / "plots/loss/mnist.tsv").read_bytes()

    run(repo, "dvc", "repro", "--force", "train@mnist")  # uninterrupted, from epoch 0
    for key, tensor in weights(repo / "models/mnist.pt").items():
        assert torch.equal(resumed_weights[key], tensor), key
    assert (repo / "plots/loss/mnist.tsv").read_bytes() == resumed_history


def test_a_checkpoint_of_other_params_is_not_resumed(tmp_path):
    params = tiny_params(["mnist"])
    params["datasets"]["mnist"]["train"]["epochs"] = 3
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro", "featurize@mnist")
    (repo / "checkpoints").mkdir()
    torch.save({"fingerprint": "another run", "epoch": 2}, repo / "checkpoints/mnist.pt")
    result = run(repo, "dvc", "repro", "train@mnist")
    assert "resuming" not in result.stdout
    assert '"resumed_at_epoch": 0' in (repo / "runs/mnist.json").read_text()


def test_a_diverging_run_names_dataset_epoch_and_lr_and_writes_no_model(tmp_path):
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["lr"] = 1e30
    repo = make_repo(tmp_path / "repo", params)
    result = run(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "iris: training diverged at epoch" in errors[0] and "lr 1e+30" in errors[0]
    assert finished_outputs(repo, "iris") == []

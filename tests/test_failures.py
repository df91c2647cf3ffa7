"""A train stage that dies (a signal) or diverges (NaN) leaves nothing that looks finished, says what to run
next, and what it says works."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import (
    RUN,
    built_once,
    command_line,
    descendants,
    ended_on_failure,
    interrupted,
    killed_after,
    make_repo,
    pausing_after,
    result_hashes,
    run,
    shared_build,
    tiny_params,
    tool_env,
    wait_paused,
    write_params,
)

from tinynets.modelfile import load_model

pytestmark = pytest.mark.slow

FINAL_OUTPUTS = ("models/{}.safetensors", "plots/loss/{}.tsv", "data/outputs/{}.npz")


def finished_outputs(repo: Path, name: str) -> list[str]:
    return [pattern.format(name) for pattern in FINAL_OUTPUTS if (repo / pattern.format(name)).exists()]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path)["state_dict"]


def error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def mnist_params() -> dict:
    params = tiny_params(["mnist"])
    params["datasets"]["mnist"]["train"]["epochs"] = 40  # its tests stop it after its first epoch's checkpoint
    return params


def featurize_mnist(repo: Path) -> None:
    make_repo(repo, mnist_params())
    run(repo, "dvc", "repro", "featurize@mnist")


@pytest.fixture
def featurized(tmp_path_factory) -> Path:
    """A private copy of a repo whose mnist is featurized, ready to train (made once per test session)."""
    return built_once(tmp_path_factory, "featurized_mnist", featurize_mnist)


RECORDED = ("plots/loss/mnist.tsv", "plots/dynamics/mnist.tsv", "data/learning/mnist.npz")


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> tuple[dict[str, torch.Tensor], dict[str, bytes]]:
    """The weights and records of the same mnist run trained from epoch 0 to the end without a stop."""

    def train_mnist(repo: Path) -> None:
        shutil.copytree(shared_build(tmp_path_factory, "featurized_mnist", featurize_mnist), repo, symlinks=True)
        run(repo, "dvc", "repro", "train@mnist")

    repo = shared_build(tmp_path_factory, "trained_mnist", train_mnist)
    return weights(repo / "models/mnist.safetensors"), {path: (repo / path).read_bytes() for path in RECORDED}


def start_training(repo: Path) -> subprocess.Popen:
    """mnist's train stage, answering Ctrl-C as in a terminal even when the tests run in a background job (whose
    shell ignores SIGINT, which its children inherit)."""
    train = [sys.executable, "-m", "stages.train", "mnist"]
    return subprocess.Popen(
        train,
        cwd=repo,
        env=pausing_after(repo / "checkpoints/mnist.pt", tool_env(repo)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_train_stage_resumes_to_the_same_model(featurized, uninterrupted, signum):
    repo, checkpoint = featurized, featurized / "checkpoints/mnist.pt"
    process = start_training(repo)
    with ended_on_failure(process):
        wait_paused(lambda: [process.pid], process)
        assert checkpoint.exists()
        interrupted(process.pid, signum)
        assert process.wait(timeout=300) != 0
    if signum != signal.SIGKILL:  # the one signal a process cannot answer
        assert "`dvc repro` resumes from its checkpoint" in error_line(process.stderr.read().decode())
    assert finished_outputs(repo, "mnist") == []

    resumed = run(repo, "dvc", "repro", "train@mnist")
    assert "mnist: resuming at epoch" in resumed.stdout
    assert not checkpoint.exists()
    expected_weights, expected_records = uninterrupted
    resumed_weights = weights(repo / "models/mnist.safetensors")
    assert resumed_weights.keys() == expected_weights.keys()
    for key, tensor in resumed_weights.items():
        assert torch.equal(expected_weights[key], tensor), key
    assert {path: (repo / path).read_bytes() for path in RECORDED} == expected_records  # the records, checkpointed


def other_data(repo: Path) -> None:
    params = mnist_params()
    params["datasets"]["mnist"]["data"]["split"] = {"test_size": 0.2, "random_state": 7}  # other rows to train on
    write_params(repo, params)


def other_code(repo: Path) -> None:
    loop = repo / "tinynets/training/loop.py"
    loop.write_text(loop.read_text() + "\n# an edit to the training loop\n")


def other_params(repo: Path) -> None:
    params = mnist_params()
    params["datasets"]["mnist"]["train"]["lr"] /= 2  # the same data and code: only the run's settings differ
    write_params(repo, params)


@pytest.mark.parametrize("change", [other_data, other_code, other_params], ids=lambda change: change.__name__)
def test_a_checkpoint_of_other_data_code_or_params_is_not_resumed(featurized, change):
    killed_after(featurized, "mnist", featurized / "checkpoints/mnist.pt")
    change(featurized)
    result = run(featurized, "dvc", "repro")
    assert "resuming" not in result.stdout
    assert '"resumed_at_epoch": 0' in (featurized / "runs/mnist.json").read_text()


def restore(repo: Path, line: str) -> None:
    command = re.search(r"`(dvc checkout [^`]+)`", line).group(1)
    run(repo, *command.split())


def test_a_diverging_run_names_dataset_epoch_and_lr_and_the_command_that_restores(workspace):
    before = result_hashes(workspace)
    params = tiny_params(RUN)
    params["datasets"]["iris"]["train"]["lr"] = 1e30
    write_params(workspace, params)
    result = run(workspace, "dvc", "repro", check=False)
    assert result.returncode != 0
    line = error_line(result.stderr)
    assert "iris: training diverged at epoch" in line and "lr 1e+30" in line
    assert finished_outputs(workspace, "iris") == []
    restore(workspace, line)
    assert result_hashes(workspace) == before


def test_a_stopped_run_says_how_to_resume_and_how_to_restore(workspace):
    before = result_hashes(workspace)
    params = tiny_params(RUN)
    params["datasets"]["mnist"]["train"] |= {"epochs": 200, "lr": 0.1}
    write_params(workspace, params)
    env = pausing_after(workspace / "checkpoints/mnist.pt", tool_env(workspace))
    repro = subprocess.Popen(["dvc", "repro"], cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with ended_on_failure(repro):
        [train] = wait_paused(
            lambda: [pid for pid in descendants(repro.pid) if "stages.train\0mnist" in command_line(pid)], repro
        )
        interrupted(train, signal.SIGTERM)  # as `kill` and job schedulers send
        _, stderr = repro.communicate(timeout=300)
    assert repro.returncode != 0
    line = error_line(stderr.decode())
    assert "mnist: training stopped by SIGTERM; `dvc repro` resumes from its checkpoint" in line
    restore(workspace, line)
    assert result_hashes(workspace) == before

"""Scaling out with the engines people already use: torchrun (DDP), a DVC remote, DVC's experiment queue."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from conftest import make_repo, readme_block, result_hashes, run, run_readme_block, tiny_params, write_params

pytestmark = pytest.mark.slow


def scores(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / f"{name}.json").read_text())


BLOCK_NETS = {
    "iris_blocks": [{"type": "linear", "out": 10}, {"type": "relu"}, {"type": "linear", "out": "auto"}],
    "iris_gru": [{"type": "sequence"}, {"type": "gru", "hidden": 8}, {"type": "linear", "out": "auto"}],
}


def with_blocks_iris(params: dict) -> dict:
    """The params plus iris's net declared as blocks (an MLP, and a GRU reading the 4 features as steps), which
    train through autograd."""
    for name, blocks in BLOCK_NETS.items():
        iris = copy.deepcopy(params["datasets"]["iris"])
        iris["model"] = {"blocks": blocks}
        params["datasets"][name] = iris
    # At lr 0.5 the GRU's path turns chaotic after some 100 epochs: the last bit of a sum in another order then
    # grows into another trajectory. Over its first 50 the two agree to the sixth digit.
    params["datasets"]["iris_gru"]["train"]["epochs"] = 50
    # Minibatches of 7 of 120 rows: two processes hold 4 and 3 rows of each, and of the last batch's one row,
    # the second holds none. At lr 0.5 the explicit pass and DDP's autograd part ways after some 30 epochs.
    batches = params["datasets"]["iris_batches"] = copy.deepcopy(params["datasets"]["iris"])
    batches["train"] |= {"batch_size": 7, "shuffle": True, "epochs": 20, "lr": 0.05}
    return params


def test_torchrun_with_two_processes_matches_one_process(workspace, tmp_path):
    names = ["iris", "circles", *BLOCK_NETS, "iris_batches"]
    single = workspace  # iris and circles trained with these params already: only the block nets train here
    write_params(single, with_blocks_iris(tiny_params(names)))
    run(single, "dvc", "repro")
    params = with_blocks_iris(tiny_params(names))
    for name in names:
        params["datasets"][name]["train"]["processes"] = 2
    ddp = make_repo(tmp_path / "ddp", params)
    result = run(ddp, "dvc", "repro")

    for name in names:
        assert json.loads((ddp / "runs" / f"{name}.json").read_text())["processes"] == 2
        epochs = params["datasets"][name]["train"]["epochs"]
        assert result.stdout.count(f"{name}: epoch {epochs}/{epochs}") == 1  # rank 0 alone reports
        one, two = scores(single, name), scores(ddp, name)
        # Same global batch, same initial weights: only the order of float additions differs.
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-3)
        assert abs(two["accuracy"] - one["accuracy"]) <= 1 / one["n_test"]
    assert sorted(path.name for path in (ddp / "models").iterdir()) == [f"{name}.safetensors" for name in sorted(names)]


def test_a_failing_rank_fails_the_stage_and_is_named(tmp_path):
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"] |= {"processes": 2, "lr": 1e30}
    repo = make_repo(tmp_path / "repo", params)
    result = run(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert "error: rank 0: iris: training diverged" in result.stderr
    assert not (repo / "models/iris.safetensors").exists()


def test_push_clone_pull_leaves_nothing_to_reproduce(workspace, tmp_path):
    storage = tmp_path / "storage"
    run(workspace, "dvc", "remote", "add", "--default", "shared", str(storage))
    run(workspace, "git", "commit", "-qam", "add the shared remote")
    run(workspace, "dvc", "push")

    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(workspace), str(clone))
    assert not (clone / "models/iris.safetensors").exists()
    run(clone, "dvc", "pull")
    assert "Data and pipelines are up to date" in run(clone, "dvc", "status").stdout
    assert "Running stage" not in run(clone, "dvc", "repro").stdout
    assert result_hashes(clone) == result_hashes(workspace)


def test_the_readmes_queued_grid_runs_on_two_workers_and_exp_show_lists_each_ones_metrics(workspace):
    block = run_readme_block(workspace, readme_block("dvc queue start -j 2"))  # queue, start, wait, status, show
    rates = [0.01, 0.05, 0.1]
    tasks = re.findall(r"^[0-9a-f]{7} +(\S+) +.* (\w+)$", block.stdout, re.M)  # `dvc queue status`: name, status
    assert len(tasks) == len(rates) and {status for _, status in tasks} == {"Success"}, block.stdout

    shown = json.loads(run(workspace, "dvc", "exp", "show", "--json").stdout)
    experiments = [exp for entry in shown for exp in entry.get("experiments") or []]
    seen = {}
    for experiment in experiments:
        data = experiment["revs"][0]["data"]
        lr = data["params"]["params.yaml"]["data"]["datasets"]["iris"]["train"]["lr"]
        seen[lr] = data["metrics"]["metrics/iris.json"]["data"]
    assert sorted(seen) == rates
    assert all(metrics["epochs"] == 300 and metrics["n_test"] == 30 for metrics in seen.values())
    # Each its own run: in 300 epochs of plain SGD a larger lr gets further down the loss.
    assert seen[0.01]["loss"] > seen[0.05]["loss"] > seen[0.1]["loss"]
    assert scores(workspace, "iris")["loss"] not in {metrics["loss"] for metrics in seen.values()}  # lr 0.5's
    assert sorted(experiment["name"] for experiment in experiments) == sorted(name for name, _ in tasks)
    assert all(f"[{name}]" in block.stdout for name, _ in tasks)  # the block's `dvc exp show` lists each

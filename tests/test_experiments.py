"""tinynets compare over real DVC experiments: the README's queued sweep ranked on validation, the noise verdict
checked against scipy, --apply, bad input, and a sweep shared by two machines through a git and a DVC remote."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import dvc.api
import numpy as np
import pytest
import yaml
from conftest import iris_experiments, make_repo, readme_block, run, run_readme_block, tiny_params, tool_env
from scipy.stats import ttest_rel

from tinynets.noise import ROUNDING
from tinynets.ranking import metric_values

pytestmark = pytest.mark.slow

SWEEP = ("-S", "datasets.iris.train.repeats=3", "-S", "datasets.iris.train.valid_size=0.2")


def tinynets(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tinynets", *args], cwd=repo, env=tool_env(repo), capture_output=True, text=True)


def experiments(repo: Path) -> dict[str, dict]:
    """Each experiment's iris metrics and lr, by name."""
    return {
        name: {"lr": found["params"]["train"]["lr"], **found["metrics"]}
        for name, found in iris_experiments(repo).items()
    }


def ranked_names(compared: str) -> list[str]:
    """The experiments a `tinynets compare` table ranks, best first."""
    table = compared.split("\n\n")[0]  # the lines below it say the verdict
    return [line.split()[1] for line in table.splitlines()[1:] if re.match(r"\d+ ", line)]


def verdict(compared: str) -> list[str]:
    """The lines a `tinynets compare` printed below its table and the notes on why rows are not ranked."""
    return compared.rstrip("\n").split("\n\n")[-1].splitlines()


def experiment_revs(repo: Path) -> dict[str, str]:
    """Each experiment's commit, by name."""
    return {name: found["rev"] for name, found in iris_experiments(repo).items()}


def valid_correct(repo: Path, rev: str) -> np.ndarray:
    """An experiment's per-seed, per-row validation correctness, from its data/predictions/iris.npz."""
    with dvc.api.open("data/predictions/iris.npz", repo=str(repo), rev=rev, mode="rb") as file:
        return np.load(io.BytesIO(file.read()))["valid_rows_correct"]


def assert_the_verdict_is_the_seeds_t_test(said: str, repo: Path, ranked: list[str], per_seed: dict) -> None:
    """The verdict line gives the paired t-test's p over the top two's per-seed validation figures (each the mean
    of that seed's recorded validation rows), and the verdict that p decides."""
    revs = experiment_revs(repo)
    for name in ranked[:2]:
        assert valid_correct(repo, revs[name]).mean(axis=1) == pytest.approx(per_seed[name], abs=1e-4)
    a, b = (np.array(per_seed[name]) for name in ranked[:2])
    if a.mean() == b.mean():
        assert " ties with " in said, said
        return
    if np.ptp(a - b) <= ROUNDING * np.abs([a, b]).max():  # alike to the figures' 6 digits
        assert "the seeds show no spread, so their noise is unseen" in said and "p =" not in said, said
        return
    expected = ttest_rel(a, b).pvalue
    found = re.search(r"p = ([0-9.e+-]+)", said)
    assert found and float(found.group(1)) == float(f"{expected:.2g}"), said
    assert said.endswith("unlikely to be noise" if expected < 0.05 else "within the noise of its seeds")


def test_the_readmes_sweep_is_ranked_on_validation_tested_against_seed_noise_and_applied(workspace):
    block = run_readme_block(workspace, readme_block("tinynets compare iris --apply"))  # queue, wait, compare, apply
    recorded = experiments(workspace)
    assert len(recorded) == 3 and all(len(scores["valid"]["per_seed"]["accuracy"]) == 3 for scores in recorded.values())
    per_seed = {name: metric_values(scores["valid"], "accuracy") for name, scores in recorded.items()}

    result = tinynets(workspace, "compare", "iris", "--md", "sweep.md")  # what the block printed before --apply
    assert result.returncode == 0, result.stderr
    assert result.stdout in block.stdout
    lines, ranked = result.stdout.splitlines(), ranked_names(result.stdout)
    assert ranked == sorted(recorded, key=lambda name: -sum(per_seed[name])) and len(ranked) == 3
    said, best_set = verdict(result.stdout)  # the verdict on the top two, then the set
    assert_the_verdict_is_the_seeds_t_test(said, workspace, ranked, per_seed)
    assert said.startswith(f"lr {recorded[ranked[0]]['lr']} beats lr {recorded[ranked[1]]['lr']} by ")
    set_line = r"(the best is told apart from all 2 others|[23] of 3 share first place, .*) \(Holm .*\)"
    assert re.fullmatch(set_line, best_set), best_set
    assert "test accuracy" in lines[0] and (workspace / "sweep.md").read_text().startswith("| rank | experiment |")

    params = yaml.safe_load((workspace / "params.yaml").read_text())  # --apply made the best one the workspace's
    assert params["datasets"]["iris"]["train"]["lr"] == recorded[ranked[0]]["lr"]
    assert "up to date" in run(workspace, "dvc", "status").stdout
    assert re.search(r"^\| Experiment +\|", block.stdout, re.M)  # the last command's table, in markdown


def test_bad_input_gets_one_line_and_changes_nothing(workspace, tmp_path):
    params = (workspace / "params.yaml").read_bytes()
    for args, message in (
        (("compare", "irsi"), "unknown dataset 'irsi': params.yaml declares "),
        (("compare", "iris", "--metric", "r2"), "no experiment of iris records 'r2'"),
        (("compare", "iris", "--metric", "speed"), "'speed' is not a metric tinynets compares on"),
    ):
        result = tinynets(workspace, *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    run(workspace, "dvc", "exp", "run", "-n", "other-lr", "-S", "datasets.iris.train.lr=0.2", *SWEEP)
    (workspace / "params.yaml").write_bytes(params + b"# an edit of my own\n")  # dvc.lock: other-lr's, saved
    result = tinynets(workspace, "compare", "iris", "--apply")
    assert result.returncode == 2 and result.stdout == ""
    assert "--apply would overwrite uncommitted changes to dvc.lock, metrics/iris.json, params.yaml" in result.stderr
    assert (workspace / "params.yaml").read_bytes() == params + b"# an edit of my own\n"
    run(workspace, "git", "checkout", "-q", "--", ".")  # back to the committed run, outputs and all
    run(workspace, "dvc", "checkout", "-q")
    (workspace / "models/iris.safetensors").write_bytes(b"a model of my own")  # a DVC output, not in git
    result = tinynets(workspace, "compare", "iris", "--apply")
    assert (
        result.returncode == 2
        and "would overwrite models/iris.safetensors, which differ from dvc.lock" in result.stderr
    )
    assert (workspace / "models/iris.safetensors").read_bytes() == b"a model of my own"
    run(workspace, "dvc", "checkout", "-q", "--force")

    # params changed and committed, not reproduced: every output is in the cache, so nothing would be lost
    committed = yaml.safe_load(params)
    committed["datasets"]["iris"]["train"] |= {"repeats": 3, "valid_size": 0.2}
    (workspace / "params.yaml").write_text(yaml.safe_dump(committed, sort_keys=False))
    run(workspace, "git", "commit", "-qam", "validate with three seeds")
    run(workspace, "dvc", "exp", "run", "--queue", "-n", "after-commit", "-S", "datasets.iris.train.lr=0.2")
    run(workspace, "dvc", "exp", "run", "--run-all")
    result = tinynets(workspace, "compare", "iris", "--apply")
    assert result.returncode == 0 and "applied after-commit" in result.stdout, result.stderr
    assert ranked_names(result.stdout) == ["after-commit"]  # other-lr was run from the commit before

    fresh = make_repo(tmp_path / "fresh", tiny_params(["iris"]))  # never run: no experiment has results
    result = tinynets(fresh, "compare", "iris")
    assert result.returncode == 2 and "no experiment has results for iris yet" in result.stderr


def test_two_machines_share_a_sweep_through_a_git_and_a_dvc_remote(pipeline, tmp_path):
    origin, storage = tmp_path / "origin.git", tmp_path / "storage"
    first = Path(shutil.copytree(pipeline, tmp_path / "first", symlinks=True))
    run(first, "dvc", "remote", "add", "--default", "shared", str(storage))
    run(first, "git", "commit", "-qam", "the shared DVC remote")
    run(tmp_path, "git", "clone", "-q", "--bare", str(first), str(origin))  # the shared git remote
    run(first, "dvc", "push", "-q")
    machines = {}
    for name, lr in (("a", "0.01"), ("b", "0.05")):
        clone = machines[name] = tmp_path / name
        run(tmp_path, "git", "clone", "-q", str(origin), str(clone))
        run(clone, "dvc", "pull", "-q")
        run(clone, "dvc", "exp", "run", "-n", f"lr-{name}", "-S", f"datasets.iris.train.lr={lr}", *SWEEP)
        run(clone, "dvc", "exp", "push", "origin")  # its git refs to origin, its outputs to the DVC remote
    last = tmp_path / "last"
    run(tmp_path, "git", "clone", "-q", str(origin), str(last))
    run(last, "dvc", "pull", "-q")
    run(last, "dvc", "exp", "pull", "origin")
    result = tinynets(last, "compare", "iris")
    assert result.returncode == 0, result.stderr
    ranked = ranked_names(result.stdout)
    assert sorted(ranked) == ["lr-a", "lr-b"]
    recorded = experiments(last)
    per_seed = {name: metric_values(recorded[name]["valid"], "accuracy") for name in ranked}
    said = verdict(result.stdout)[0]  # the verdict (a line naming a shared first place may follow)
    assert_the_verdict_is_the_seeds_t_test(said, last, ranked, per_seed)
    applied = tinynets(last, "compare", "iris", "--apply")  # the outputs come from the DVC remote
    assert applied.returncode == 0, applied.stderr
    assert "up to date" in run(last, "dvc", "status").stdout

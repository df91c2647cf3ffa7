"""tinynets search over real DVC experiments: trials two at once, each a named experiment whose outputs are those
of `dvc exp run -S` with its params; a search resumed, interrupted, fed a diverging trial or a bad block."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import time
from html import escape
from pathlib import Path

import dvc.api
import optuna
import pytest
import yaml
from conftest import (
    README_BLOCK,
    ROOT,
    built_once,
    iris_experiments,
    make_repo,
    readme_block,
    run,
    run_readme_block,
    tiny_params,
    tool_env,
)

from tinynets.common.errors import ConfigError, DataError
from tinynets.html_report import SEARCH_FIGURES
from tinynets.search import search
from tinynets.training.pruning import study_storage

pytestmark = pytest.mark.slow

LR, HIDDEN = "datasets.iris.train.lr", "datasets.iris.model.layers.1"
SPACE = {LR: {"type": "log_uniform", "low": 0.05, "high": 1.0}, HIDDEN: {"type": "int", "low": 2, "high": 16}}
ACCURACY_TRIAL = re.compile(
    r"^iris: trial (\d+) \((.*)\): (valid accuracy [0-9.]+|pruned at epoch \d+) \[(iris-\w+-\d+)\]$"
)
TRIAL = re.compile(
    r"^iris: trial (\d+) \((.*)\): (valid loss ([0-9.e+-]+)|failed: .*|pruned at epoch \d+) \[(iris-\w+-\d+)\]$"
)


def searchable_build(repo: Path) -> None:
    """Iris with a validation split and a search block, trained and committed."""
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE, "trials": 4, "workers": 2, "pruner": "none"}}
    make_repo(repo, params)
    run(repo, "dvc", "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "trained")


@pytest.fixture
def searchable(tmp_path_factory) -> Path:
    return built_once(tmp_path_factory, "searchable", searchable_build)


def tinynets(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tinynets", *args], cwd=repo, env=tool_env(repo), capture_output=True, text=True)


def trials(stdout: str) -> dict[int, re.Match]:
    """The trial lines a search printed, by trial number."""
    said = (
        "iris: best ",
        "iris: confirmed ",
        "iris: the next dvc repro draws ",
        "iris: dvc repro drew ",
        "iris: a new ",
    )
    lines = [line for line in stdout.splitlines() if line.startswith("iris: ") and not line.startswith(said)]
    found = {int(match.group(1)): match for match in map(TRIAL.match, lines) if match}
    assert len(found) == len(lines), stdout  # every other line of its own is a trial's
    return found


def outputs(repo: Path, rev: str) -> dict[str, str]:
    """Every output's md5 in commit `rev`'s dvc.lock, by path."""
    lock = yaml.safe_load(run(repo, "git", "show", f"{rev}:dvc.lock").stdout)["stages"]
    return {out["path"]: out["md5"] for stage in lock.values() for out in stage.get("outs", [])}


def model_bytes(repo: Path, rev: str) -> bytes:
    with dvc.api.open("models/iris.safetensors", repo=str(repo), rev=rev, mode="rb") as file:
        return file.read()


def running(command: str) -> bool:
    """Whether a process whose command line holds `command` runs now."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if command in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


def test_a_search_runs_its_trials_two_at_once_each_a_dvc_experiment_and_resumes(searchable):
    searched = tinynets(searchable, "search", "iris", "--trials", "10")
    assert searched.returncode == 0, searched.stderr
    assert (
        searched.stdout.startswith("iris: a new study iris-")
        and "(the first study of this dataset here)" in searched.stdout
    )
    first = trials(searched.stdout)
    assert sorted(first) == list(range(10)) and all(match.group(4) for match in first.values())
    assert first[0].group(2) == "train.lr 0.5, model.layers.1 10"  # trial 0: where params.yaml stands
    recorded = iris_experiments(searchable)
    for match in first.values():
        scores, declared = recorded[match.group(5)]["metrics"], recorded[match.group(5)]["params"]
        assert scores["valid"]["loss"] == pytest.approx(float(match.group(4)), rel=1e-3)
        assert f"train.lr {declared['train']['lr']:.4g}" in match.group(2)
        assert f"model.layers.1 {declared['model']['layers'][1]}" in match.group(2)
    summary = json.loads((searchable / "search/iris.json").read_text())  # for the plot and report stages
    assert [trial["experiment"] for trial in summary["trials"]] == [first[n].group(5) for n in range(10)]
    assert sorted(summary["importance"]) == sorted(SPACE)
    assert "the next dvc repro draws its figures (plots/images/iris/search_*.png)" in searched.stdout
    assert run(searchable, "git", "status", "--porcelain").stdout == "?? search/iris.json\n"  # the user's to commit

    # a trial's outputs are those of a plain `dvc exp run -S` with its params, every one of them
    name = first[0].group(5)
    trial = recorded[name]["params"]
    values = (f"{LR}={trial['train']['lr']!r}", f"{HIDDEN}={trial['model']['layers'][1]}")
    aside = (searchable / "search/iris.json").rename(searchable.parent / "iris.json")  # HEAD, as the trial saw it
    run(searchable, "dvc", "exp", "run", "--force", "-n", "plain", "-S", values[0], "-S", values[1])  # not restored
    run(searchable, "git", "checkout", "--", ".")
    run(searchable, "dvc", "checkout", "--force")  # the workspace as HEAD has it again
    plain = iris_experiments(searchable)["plain"]
    assert plain["metrics"] == recorded[name]["metrics"]
    assert outputs(searchable, plain["rev"]) == outputs(searchable, recorded[name]["rev"])
    assert model_bytes(searchable, plain["rev"]) == model_bytes(searchable, recorded[name]["rev"])

    # the summary and a note committed: the same study resumes (neither is an input of a trial)
    aside.rename(searchable / "search/iris.json")
    (searchable / "NOTES.md").write_text("lr matters more than width\n")
    run(searchable, "git", "add", "search/iris.json", "NOTES.md")
    run(searchable, "git", "commit", "-qm", "iris: the search so far")
    status = tinynets(searchable, "search", "iris", "--status")
    assert status.returncode == 0, status.stderr
    listed = r"^  iris-\w+: 10 trials \(10 complete\); best trial \d+: valid loss .* <- a search now resumes it$"
    assert re.search(listed, status.stdout, re.M), status.stdout

    resumed = tinynets(searchable, "search", "iris", "--trials", "12")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(trials(resumed.stdout)) == [10, 11] and "a new study" not in resumed.stdout
    names = {match.group(5) for match in [*first.values(), *trials(resumed.stdout).values()]}
    assert names <= set(iris_experiments(searchable, all_commits=True)) and len(names) == 12  # two commits
    points = [match.group(2) for match in [*first.values(), *trials(resumed.stdout).values()]]
    assert len(set(points)) == 12, points  # the resumed search asked no point an earlier trial asked
    compared = tinynets(searchable, "compare", "iris", "--metric", "loss", "--all-commits")
    assert compared.returncode == 0 and all(name in compared.stdout for name in names), compared.stdout

    # confirm the best two with three seeds each, compare them on validation, apply the better
    confirmed = tinynets(searchable, "search", "iris", "--trials", "12", "--confirm-best", "2", "--apply")
    assert confirmed.returncode == 0, confirmed.stderr
    recorded = iris_experiments(searchable, all_commits=True)
    found = [name for name in recorded if name.endswith("-confirm-43")]
    losses = {name: recorded[name]["metrics"]["valid"]["loss"] for name in names}
    assert sorted(f"{name}-confirm-43" for name in sorted(losses, key=losses.get)[:2]) == sorted(found)  # the best two
    # on three seeds none of the trials trained on (each trained on the global seed 42 alone)
    assert all(list(recorded[name]["metrics"]["valid"]["per_seed"]["loss"]) == ["43", "44", "45"] for name in found)
    assert "with seeds 43-45, none it was chosen on [" in confirmed.stdout
    table = confirmed.stdout.split("\nrank", 1)[1]
    winner = re.search(r"^1 +(\S+)", table, re.MULTILINE).group(1)
    assert f"applied {winner}: params.yaml and the outputs are its own" in confirmed.stdout
    applied = yaml.safe_load((searchable / "params.yaml").read_text())["datasets"]["iris"]
    assert (applied["train"]["repeats"], applied["train"]["seed"]) == (3, 43)
    assert applied["train"]["lr"] == recorded[winner]["params"]["train"]["lr"]
    assert "up to date" in run(searchable, "dvc", "status").stdout
    assert run(searchable, "git", "status", "--porcelain", "search").stdout == " M search/iris.json\n"
    # the applied workspace's figures and report show the whole search (dvc repro drew them)
    assert "iris: dvc repro drew its figures" in confirmed.stdout
    assert all((searchable / "plots/images/iris" / figure).stat().st_size > 10_000 for figure in SEARCH_FIGURES)
    summary = (searchable / "reports/summary.md").read_text()
    assert "## Search of iris: 12 trials (tpe, valid loss)" in summary
    assert all(f"| {name}" in summary for name in names)
    page = (searchable / "reports/index.html").read_text()
    assert all(f'alt="{escape(f"iris: {caption.lower()}")}"' in page for caption in SEARCH_FIGURES.values())


def test_a_trial_that_diverges_fails_in_one_line_and_the_search_goes_on(searchable):
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    grid = {LR: {"type": "choice", "values": [1e12, 0.5]}}
    params["search"]["iris"] = {"space": grid, "sampler": "grid", "trials": 2, "workers": 1}
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    searched = tinynets(searchable, "search", "iris")
    assert searched.returncode == 0, searched.stderr
    ended = {match.group(2): match for match in trials(searched.stdout).values()}
    failed = ended["train.lr 1e+12"].group(3)
    assert failed.startswith("failed: error: iris: training diverged at epoch "), failed
    log = re.search(r"\(log: (search/logs/iris-\w+-\d+\.log)\)$", failed).group(1)
    whole = (searchable / log).read_text()  # every stage's output, not only the error
    assert "Running stage 'validate'" in whole and "training diverged at epoch" in whole
    assert ended["train.lr 0.5"].group(4)
    assert run(searchable, "git", "status", "--porcelain", "search/logs").stdout == ""  # git ignores the logs


def test_the_median_pruner_stops_a_lagging_trial_which_leaves_no_experiment(searchable):
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    lrs = [0.5, 0.4, 0.3, 0.6, 0.001, 0.0011, 0.0012, 0.0013]  # the last four learn a hundredth as fast
    grid = {"space": {LR: {"type": "choice", "values": lrs}}, "sampler": "grid", "pruner": "median", "workers": 1}
    params["search"]["iris"] = grid | {"trials": len(lrs), "metric": "accuracy"}  # a study that maximizes
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    searched = tinynets(searchable, "search", "iris")
    assert searched.returncode == 0, searched.stderr
    ended = {int(m.group(1)): m for m in map(ACCURACY_TRIAL.match, searched.stdout.splitlines()) if m}
    pruned = {number: match for number, match in ended.items() if match.group(3).startswith("pruned at epoch ")}
    assert pruned and len(ended) == len(lrs), searched.stdout
    study = optuna.load_study(
        study_name=None, storage=study_storage(f"journal:{searchable}/search/journals/iris.journal")
    )
    values = {trial.number: trial.value for trial in study.trials if trial.state.name == "PRUNED"}
    assert set(values) == set(pruned) and all(0 <= value <= 1 for value in values.values()), values  # accuracies
    assert all(float(match.group(2).split()[-1]) < 0.01 for match in pruned.values())  # only slow learners
    made = set(iris_experiments(searchable))
    assert not {match.group(4) for match in pruned.values()} & made
    assert {match.group(4) for number, match in ended.items() if number not in pruned} <= made


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ({f"{LR}x": {"type": "uniform", "low": 0.1, "high": 0.2}}, f"search.iris.space.{LR}x: not a param"),
        (
            {LR: {"type": "uniform", "low": -1, "high": 0.2}},
            f"search.iris.space.{LR}: -1.0 is refused ({LR}: Input should",
        ),
        ({LR: {"type": "log_uniform", "low": 0.5, "high": 0.2}}, f"search.iris.space.{LR}.high: must be above low"),
        ({"seed": {"type": "int", "low": 1, "high": 3}}, "search.iris.space.seed: a search of iris sets"),
    ],
)
def test_a_bad_search_block_fails_in_one_line_before_any_trial(searchable, space, expected):
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    params["search"]["iris"]["space"] = space
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    searched = tinynets(searchable, "search", "iris")
    assert searched.returncode == 2 and searched.stdout == ""
    assert searched.stderr.startswith(f"error: params.yaml: {expected}") and searched.stderr.count("\n") == 1
    assert iris_experiments(searchable) == {}


def test_a_search_without_a_validation_split_or_with_uncommitted_changes_is_refused(searchable):
    own = searchable / "data/own/målinger.csv"  # a user's file git does not track, named as a Dane would
    own.write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match=re.escape("would not see data/own/målinger.csv: commit them")):
        search(searchable, "iris")
    own.unlink()
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    params["datasets"]["iris"]["train"]["epochs"] = 7  # a change the trials, run from HEAD, would not see
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(DataError, match=re.escape("a trial runs from HEAD and would not see params.yaml: commit them")):
        search(searchable, "iris")
    params["datasets"]["iris"]["train"]["valid_size"] = None
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ConfigError, match=re.escape("search.iris.metric: chooses on the validation split: set the")):
        search(searchable, "iris")


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="ctrl-c to the terminal's group"),
        pytest.param(lambda pid: os.kill(pid, signal.SIGINT), id="sigint to the search alone"),
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="sigterm to the search alone"),
        pytest.param(lambda pid: os.kill(pid, signal.SIGHUP), id="sighup: its terminal or ssh gone"),
    ],
)
def test_an_interrupted_search_leaves_no_experiment_half_made_no_process_and_asks_its_point_again(searchable, stop):
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    params["search"]["iris"] |= {"trials": 3, "workers": 1}
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    command = ["tinynets", "search", "iris"]
    process = subprocess.Popen(
        command,
        cwd=searchable,
        env=tool_env(searchable),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    process.stdout.readline()  # "a new study"
    first = process.stdout.readline()  # trial 0 ended: trial 1 starts now
    prefix = TRIAL.match(first.strip()).group(5).removesuffix("-0") + "-"  # every trial's experiment name starts so
    deadline = time.monotonic() + 60
    while not running(f"-n {prefix}1") and time.monotonic() < deadline:
        time.sleep(0.05)
    second = tinynets(searchable, "search", "iris")  # the same search twice in one project
    assert second.returncode == 2 and second.stdout == ""
    assert second.stderr.startswith(f"error: a search of iris runs in this project already (pid {process.pid}, since ")
    assert not (searchable / "search/iris.json").exists()  # the first one's summary is its own to write
    cut = running(f"-n {prefix}")  # a trial runs now (unless one just ended)
    stop(process.pid)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    said = re.fullmatch(r"error: search of iris interrupted before it finished \(trials done: (\d+)\); run it again "
                        r"to resume", stderr.strip().splitlines()[-1])  # fmt: skip
    assert said and 1 <= int(said.group(1)) < 3, stderr
    assert not running(f"-n {prefix}")  # no trial left running as an orphan
    assert not (searchable / ".dvc/tmp/search/iris").exists()  # nor a workspace left behind

    resumed = tinynets(searchable, "search", "iris")
    assert resumed.returncode == 0, resumed.stderr
    journal = study_storage(f"journal:{searchable}/search/journals/iris.journal")
    study = optuna.load_study(study_name=None, storage=journal)
    tried = [trial for trial in study.trials if "experiment" in trial.user_attrs]
    assert len(tried) == 3 and set(iris_experiments(searchable)) == {t.user_attrs["experiment"] for t in tried}
    cut_short = [trial for trial in study.trials if trial.state.name == "FAIL" and "experiment" not in trial.user_attrs]
    assert len(cut_short) == (1 if cut else 0)  # told as failed, never counted, and no experiment of its own
    for trial in cut_short:  # its point asked again, by the resumed search
        [again] = [other for other in tried if other.system_attrs.get("failed_trial") == trial.number]
        assert again.params == trial.params and again.number in trials(resumed.stdout)


def test_the_readmes_search_runs_as_printed(workspace):
    blocks = README_BLOCK.findall((ROOT / "README.md").read_text())
    script = readme_block("tinynets search iris --trials 6 --workers 2")
    [added] = [text for (kind, text), (_, after) in itertools.pairwise(blocks) if kind == "yaml" and after == script]
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    added = yaml.safe_load(added)
    params["datasets"]["iris"]["train"] |= added["datasets"]["iris"]["train"]
    params["search"] = added["search"]
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    printed = run_readme_block(workspace, script).stdout
    searched, compared = printed.split("\nrank", 1)
    found = trials(searched + "\n")
    assert sorted(found) == [0, 1, 2, 3, 4, 5]
    assert found[0].group(2) == "train.lr 0.5, model.layers.1 10"  # where params.yaml stands
    best = re.search(r"^iris: best trial (\d+) .*\[(iris-\w+-\d+)\]", printed, re.MULTILINE)
    assert best and f"{best.group(2)}-confirm-43" in compared, printed  # confirmed, and ranked on validation
    assert re.search(r"^applied iris-\w+-\d+-confirm-43: params.yaml and the outputs are its own$", compared, re.M)


def test_a_summary_this_version_cannot_read_stops_the_plot_stage_and_a_search_in_one_line(searchable):
    (searchable / "search/iris.json").write_text('{"format": 1, "dataset": "iris"')  # cut short
    repro = subprocess.run(["dvc", "repro"], cwd=searchable, env=tool_env(searchable), capture_output=True, text=True)
    assert repro.returncode != 0
    said = [line for line in repro.stderr.splitlines() if line.startswith("error: ")]
    assert said == [
        "error: search/iris.json: not a search summary this version reads (not JSON): run `tinynets search iris` "
        "again, or delete it"
    ], repro.stderr

    # committed, it would stop every trial's plot stage: the search refuses it before any trial runs
    run(searchable, "git", "add", "search/iris.json")
    run(searchable, "git", "commit", "-qm", "a broken summary")
    searched = tinynets(searchable, "search", "iris")
    assert searched.returncode == 2 and iris_experiments(searchable) == {}
    assert searched.stderr == (
        "error: HEAD's search/iris.json: not a search summary this version reads (not JSON): `git rm` it and commit: "
        "the search writes it anew\n"
    )


def test_an_apply_that_would_lose_work_is_refused_before_any_trial_runs(searchable):
    (searchable / "models/iris.safetensors").write_bytes(b"edited by hand")  # an output that differs from dvc.lock
    searched = tinynets(searchable, "search", "iris", "--confirm-best", "1", "--apply")
    assert searched.returncode == 2 and searched.stdout == "" and iris_experiments(searchable) == {}
    assert searched.stderr.startswith("error: --apply would overwrite models/iris.safetensors, which differ")


def test_a_relative_storage_is_the_callers_directory_in_a_non_ascii_project_and_an_unwritten_metric_is_refused_first(
    searchable,
):
    searchable = searchable.rename(searchable.parent / "prøjekt med mellemrum")  # DVC writes its config as ASCII
    params = yaml.safe_load((searchable / "params.yaml").read_text())
    params["search"]["iris"] |= {"metric": "roc_auc"}  # iris has three classes: no ROC AUC
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    refused = tinynets(searchable, "search", "iris")
    assert refused.returncode == 2 and refused.stderr == (
        "error: params.yaml: search.iris.metric: metrics/iris.json holds no validation roc_auc (it holds accuracy, "
        "balanced_accuracy, f1_macro, loss, precision_macro, recall_macro)\n"
    )
    params["search"]["iris"] |= {"metric": "loss", "trials": 1, "workers": 1}
    (searchable / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    notes = searchable / "my notes"
    notes.mkdir()
    command = ["tinynets", "search", "iris", "--storage", "sqlite:///study.db"]  # as Optuna's examples write it
    searched = subprocess.run(command, cwd=notes, env=tool_env(searchable), capture_output=True, text=True)
    assert searched.returncode == 0, searched.stderr
    assert trials(searched.stdout)[0].group(4) and (notes / "study.db").stat().st_size > 0
    assert not (searchable / "study.db").exists() and iris_experiments(searchable)

"""DVC sees every input: each stage in dvc.yaml depends on all the project code it imports (function-level
imports too), lists no code it does not, and reads no file that is not one of its dependencies.

The imports are read from the source (every branch, not only those a run takes). The files a stage reads
are recorded while the real `dvc repro` runs, by an audit hook (Python's `open` event) in every stage
process. Dropping any one dependency from dvc.yaml makes one of these checks fail: the last test tries it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_repo, run, search_summary, tiny_params, tool_env
from imports import import_closure, imported_modules
from own_data import HOUSES_PARAMS, houses, write_csv

CODE = ("stages/", "tinynets/")
ITEM = "${item}"
# Read by a stage without being its input: validate reads the last featurize's facts to decide whether the
# model still fits (its output, the settings, does not depend on them); train resumes from checkpoints/,
# fingerprinted with everything the run depends on; sources keep downloads under data/raw/.
NOT_INPUTS = {"validate": ("data/features/",), "train": ("checkpoints/",), "prepare": ("data/raw/",)}
# Code a stage runs only inside a search trial, to decide whether to stop it (pruning.measure: a trial's metric,
# scored as evaluate scores it, from the features' info, data/features/<ds>.json, which no audited run reads as
# none runs a trial): a stopped trial writes nothing, and one that runs to its end writes what it would
# unwatched, so no output depends on it and an edit to scoring retrains nothing. Exempt: what only that import
# brings in (a module the stage imports otherwise too must still be a dependency).
IN_A_TRIAL = {"train": "tinynets.evaluation.scoring"}


@dataclass(frozen=True)
class Stage:
    name: str
    module: str  # the stage script's module, e.g. stages.train
    deps: tuple[str, ...]  # as dvc.yaml lists them, ${item} unresolved
    outs: tuple[str, ...]


def stages() -> list[Stage]:
    """Every stage of dvc.yaml (a foreach stage once, as its template)."""
    found = []
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)
        outs = [next(iter(out)) if isinstance(out, dict) else out for out in body.get("outs", [])]
        outs += [next(iter(metric)) for metric in body.get("metrics", [])]
        module = body["cmd"].split()[2]
        found.append(Stage(name, module, tuple(body["deps"]), tuple(outs)))
    return found


def covers(dep: str, path: str) -> bool:
    return path == dep or path.startswith(dep.rstrip("/") + "/")


def problems(
    stage: Stage, deps: tuple[str, ...], reads: set[str] | None = None, digested: dict[str, set[str]] | None = None
) -> list[str]:
    """What is wrong with `deps` for `stage`: code it runs or files it reads that no dep covers, and deps that
    nothing justifies. `reads`: the repo files its processes opened (None: check the code alone). `digested`:
    by settings file, the files whose sha256 it holds (a user's CSV: validate hashes it into the settings)."""
    closure = import_closure(stage.module)
    trial_only = closure - import_closure(stage.module, cut=IN_A_TRIAL.get(stage.name))  # imported for it alone
    found = [f"{stage.name} imports {path}, which is not a dependency" for path in sorted(closure - trial_only)
             if not any(covers(dep, path) for dep in deps)]  # fmt: skip
    for dep in deps:
        if dep.startswith(CODE) and not any(covers(dep, path) for path in closure):
            found.append(f"{stage.name} depends on {dep}, which it does not import")
    if reads is None:
        return found
    allowed = NOT_INPUTS.get(stage.name, ())
    hashed = set().union(*((digested or {}).get(dep, set()) for dep in deps))
    for path in sorted(reads - hashed):
        own = any(covers(out, path) or path.startswith(f"{out}.") for out in stage.outs)
        if not own and not path.startswith(allowed) and not any(covers(dep, path) for dep in deps):
            found.append(f"{stage.name} reads {path}, which is not a dependency")
    for dep in deps:
        if not dep.startswith(CODE) and not any(covers(dep, path) for path in reads):
            found.append(f"{stage.name} depends on {dep}, which it never reads")
    return found


@pytest.mark.parametrize("stage", stages(), ids=lambda stage: stage.name)
def test_every_stage_depends_on_the_code_it_runs_and_no_other(stage):
    assert problems(stage, stage.deps) == []


def test_the_checker_sees_an_import_inside_a_function():
    names = imported_modules(ROOT / "tinynets/checks.py")
    assert "tinynets.sources" in names  # imported inside dry_run only
    assert "tinynets/common/settings.py" in import_closure("stages.train")


AUDIT_HOOK = """
import os, sys
if any(arg.startswith("stages.") for arg in sys.orig_argv):
    _log = open(os.path.join(os.environ["TINYNETS_READS"], f"{os.getpid()}.txt"), "a", buffering=1)
    _log.write(" ".join(sys.orig_argv) + "\\n")
    def _hook(event, args):
        if event == "open" and isinstance(args[0], str):
            mode, flags = args[1] or "", args[2] or 0
            if "w" not in mode and "a" not in mode and "x" not in mode and not flags & (os.O_WRONLY | os.O_RDWR):
                _log.write(os.path.abspath(args[0]) + "\\n")
    sys.addaudithook(_hook)
"""


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory) -> tuple[dict[tuple[str, str], set[str]], dict[str, set[str]]]:
    """The repo files each stage's processes opened for reading during one `dvc repro`, by stage and dataset
    ("" for the stages of all datasets), in a run that takes every stage and kind of data: tables, images,
    2-D inputs, a CSV, a validation split, an export, a search's summary; and the files each settings file holds
    the digest of."""
    params = tiny_params(["iris", "mnist", "circles", "sum30", "houses"])
    params["datasets"]["houses"] = HOUSES_PARAMS
    params["datasets"]["iris"]["train"] |= {"valid_size": 0.2, "early_stopping": {"patience": 50}}
    params["export"] = ["iris"]
    repo = make_repo(tmp_path_factory.mktemp("deps") / "repo", params)
    write_csv(repo / "data/own/houses.csv", houses())
    (repo / "search/iris.json").write_text(json.dumps(search_summary()))  # iris's last search: plot and report
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "houses, a search")
    hook, log = repo.parent / "hook", repo.parent / "reads"
    hook.mkdir()
    log.mkdir()
    (hook / "sitecustomize.py").write_text(AUDIT_HOOK)
    env = {**tool_env(repo), "TINYNETS_READS": str(log)}
    env["PYTHONPATH"] = os.pathsep.join([str(hook), env["PYTHONPATH"]])
    result = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    by_stage: dict[tuple[str, str], set[str]] = {}
    root = str(repo.resolve()) + os.sep
    for path in log.iterdir():
        command, *opened = path.read_text().splitlines()
        words = command.split()
        at = next(index for index, word in enumerate(words) if word.startswith("stages."))
        key = (words[at].removeprefix("stages."), words[at + 1] if at + 1 < len(words) else "")
        files = {line.removeprefix(root) for line in opened if line.startswith(root)}
        by_stage.setdefault(key, set()).update(_source_of(file) for file in files)
    digested = {
        path.relative_to(repo).as_posix(): set(json.loads(path.read_text())["files"])
        for path in (repo / "settings").glob("*/prepare.json")
    }
    return by_stage, digested


def _source_of(path: str) -> str:
    """A compiled module's source file (tinynets/__pycache__/x.cpython-311.pyc is tinynets/x.py)."""
    parts = Path(path).parts
    if "__pycache__" in parts:
        return Path(*parts[:-2], parts[-1].split(".")[0] + ".py").as_posix()
    return path


def instances(reads: dict[tuple[str, str], set[str]]) -> list[tuple[Stage, tuple[str, ...], set[str]]]:
    """Each stage process that ran: its stage, its deps with the dataset filled in, the files it read."""
    by_name = {stage.name: stage for stage in stages()}
    return [
        (by_name[name], tuple(dep.replace(ITEM, item) for dep in by_name[name].deps), files)
        for (name, item), files in sorted(reads.items())
    ]


@pytest.mark.slow
@pytest.mark.xdist_group("deps")  # one worker runs both, sharing pipeline_run
def test_every_stage_reads_only_its_dependencies(pipeline_run):
    reads, digested = pipeline_run
    assert {name for name, _ in reads} == {stage.name for stage in stages()}, "a stage did not run"
    for stage, deps, files in instances(reads):
        assert problems(stage, deps, files, digested) == []


@pytest.mark.slow
@pytest.mark.xdist_group("deps")
def test_dropping_any_one_dependency_fails_a_check(pipeline_run):
    reads, digested = pipeline_run
    for stage, deps, files in instances(reads):
        for index, dep in enumerate(deps):
            fewer = deps[:index] + deps[index + 1 :]
            assert problems(stage, fewer, files, digested), f"{stage.name} passed without {dep}"

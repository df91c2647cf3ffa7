"""`tinynets search`: an Optuna study over a dataset's params (its `search:` block), asked and told by hand so
that every trial is a named DVC experiment: `dvc exp run -n NAME -S path=value ...`, run in a workspace of its
own (a clone of HEAD sharing the project's DVC cache, each experiment pushed back to the project), so that K
workers train at once without DVC's queue. The study lives in a journal file in the project (or any Optuna
storage URL): a stopped search resumes where it stopped, and a trial that did not finish leaves no experiment.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinynets.common import files, paths
from tinynets.common.errors import ConfigError, DataError
from tinynets.experiments import listed
from tinynets.params import OWN_DATA, Params, SearchConfig
from tinynets.ranking import better
from tinynets.rules import load_params, one_line, parse_params
from tinynets.search_summary import SUMMARY_FORMAT, check_summary
from tinynets.training.pruning import ENVIRONMENT, study_storage

WORKSPACES = Path(".dvc/tmp/search")  # the workers' clones (git and DVC ignore .dvc/tmp)
INTERRUPTED = "interrupted before it finished"
CONFIRM_REPEATS = 3  # seeds per confirmed trial: enough for compare to weigh seed noise
PRUNED = re.compile(r"pruned at epoch \d+")  # what the train stage says when the pruner stops a trial
PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")  # a storage URL's password, never printed
NOT_TRIAL_INPUTS = (f"{paths.SEARCHES}/", "dvc.lock")  # what a trial computes nothing from (a summary, a lock)


@dataclass(frozen=True)
class Outcome:
    """How one trial ended: its experiment's name, its validation `metric`'s value (None: it did not finish),
    why not."""

    number: int
    params: dict[str, Any]
    experiment: str
    metric: str
    value: float | None
    error: str = ""  # why it failed, or the epoch it was pruned at

    @property
    def ended(self) -> str:
        """How it ended, in a few words: its metric, or why it did not finish."""
        if not self.error:
            return f"valid {self.metric} {self.value:.4g}"
        return self.error if PRUNED.fullmatch(self.error) else f"failed: {self.error}"


def override(path: str, value: Any) -> str:
    """`path=value` as `dvc exp run -S` reads it (Hydra's override grammar)."""
    return f"{path}={hydra_value(value)}"


def hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar: JSON's for scalars and lists, `{key:value}` for a mapping."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{hydra_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(hydra_value, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


def study_name(dataset: str, config: SearchConfig, code: str) -> str:
    """The study of this search: the dataset and a digest of what decides its trials (the `code` they run from,
    space, sampler, metric, seed), so that other code or another space starts another study in the same journal."""
    decided = {**config.model_dump(include={"space", "sampler", "metric", "seed"}), "commit": code}
    return f"{dataset}-{hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:6]}"


def bounds(distribution: Any) -> list[Any]:
    """The values to check a distribution by: all of a choice's; a range's ends, and a float range's middle (an
    integer param refuses it)."""
    if distribution.type == "choice":
        return list(distribution.values)
    middle = [] if distribution.type == "int" else [(distribution.low + distribution.high) / 2]
    return [distribution.low, distribution.high, *middle]


def check_space(root: Path, dataset: str, config: SearchConfig) -> None:
    """Refuse, in one line, before any trial runs, a searched path that is not a param of params.yaml or a value
    validate would refuse: each value `bounds` gives is set in a copy of params.yaml with DVC's own `-S`, then the
    params are checked."""
    from dvc.exceptions import DvcException
    from dvc.utils.hydra import apply_overrides

    raw = (root / "params.yaml").read_text()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "params.yaml"
        for path, distribution in config.space.items():
            where = f"params.yaml: search.{dataset}.space.{path}"
            if not path.startswith(f"datasets.{dataset}."):
                raise ConfigError(f"{where}: a search of {dataset} sets datasets.{dataset}'s params only")
            for value in bounds(distribution):
                scratch.write_text(raw)
                try:
                    apply_overrides(scratch, [override(path, value)])
                except DvcException:
                    raise ConfigError(f"{where}: not a param of params.yaml (set it there first)") from None
                try:
                    parse_params(yaml.safe_load(scratch.read_text()))
                except ConfigError as error:
                    reason = str(error).removeprefix("params.yaml: ")
                    raise ConfigError(one_line(f"{where}: {value!r} is refused ({reason})")) from None


def suggest(trial: Any, path: str, distribution: Any) -> Any:
    """The trial's value for one searched param."""
    if distribution.type == "log_uniform":
        return trial.suggest_float(path, distribution.low, distribution.high, log=True)
    if distribution.type == "uniform":
        return trial.suggest_float(path, distribution.low, distribution.high)
    if distribution.type == "int":
        return trial.suggest_int(path, distribution.low, distribution.high, step=distribution.step)
    return trial.suggest_categorical(path, distribution.values)


def sampler(config: SearchConfig) -> Any:
    """Optuna's sampler for the search: TPE, random or a grid over the listed values, seeded."""
    import optuna

    if config.sampler == "grid":
        grid = {path: grid_values(d) for path, d in config.space.items()}
        return optuna.samplers.GridSampler(grid, seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    return optuna.samplers.TPESampler(seed=config.seed)


def tool(root: Path, *command: str) -> str:
    """A git or dvc command's output, run in `root`; its failure as one line (the first that says an error)."""
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        said = [line for line in lines if line.startswith(("error:", "fatal:", "ERROR:", "!"))]
        raise DataError(f"{' '.join(command[:2])}: {(said or lines or ['failed'])[0]}")
    return done.stdout


def git(root: Path, *args: str) -> str:
    """A git command's output; its failure as one line."""
    return tool(root, "git", *args)


def trials_code(root: Path) -> str:
    """What HEAD's trials compute from: a digest of its tree but the search summaries, dvc.lock and params.yaml's
    search blocks, so that committing a summary, a lock after `dvc repro` or more trials keeps the study, and any
    other commit starts another."""
    entries = [entry for entry in git(root, "ls-tree", "-z", "HEAD").split("\0") if entry]
    ignored = (str(paths.SEARCHES), "dvc.lock", "params.yaml")  # params.yaml counts below, its search blocks aside
    kept = [entry for entry in entries if entry.split("\t", 1)[1] not in ignored]
    params = yaml.safe_load(git(root, "show", "HEAD:params.yaml")) or {}
    params.pop("search", None)
    kept.append(json.dumps(params, sort_keys=True, default=str))
    return hashlib.sha256("\0".join(kept).encode()).hexdigest()


def check_workspace(root: Path, params: Params) -> None:
    """Refuse what a trial's workspace (a clone of HEAD) would not see: uncommitted changes to tracked files (but
    to the search blocks, summaries and dvc.lock, from which no trial computes anything), and a user's own data
    files that git does not track."""
    status = git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = [line[3:] for line in status if not line.startswith("??") or line[3:].startswith(f"{OWN_DATA}/")]
    changed = [path for path in changed if not path.startswith(NOT_TRIAL_INPUTS)]
    if "params.yaml" in changed:
        committed = yaml.safe_load(git(root, "show", "HEAD:params.yaml")) or {}
        if parse_params({**committed, "search": {}}).model_dump(exclude={"search"}) == params.model_dump(
            exclude={"search"}
        ):
            changed.remove("params.yaml")
    if changed:
        raise DataError(
            f"a trial runs from HEAD and would not see {listed(changed)}: commit them (or stash them) first"
        )
    for name in params.run:  # every trial's plot stage reads HEAD's summaries: one it cannot read stops them all
        path = paths.of(name).search_summary
        committed = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=root, capture_output=True)
        if committed.returncode == 0:
            check_summary(path, name, committed.stdout, "HEAD's ", "`git rm` it and commit: the search writes it anew")


def workspace(root: Path, dataset: str, worker: int) -> Path:
    """Worker `worker`'s workspace for a search of `dataset`: a fresh clone of HEAD (its objects shared with the
    project's) whose DVC cache is the project's. A clone, not a worktree: worktrees share the refs that `dvc exp
    run` keeps while it runs, and two at once fail."""
    path = root / WORKSPACES / dataset / f"worker-{worker}"
    if path.exists():
        shutil.rmtree(path)
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "clone", "--quiet", "--shared", "--no-checkout", str(root), str(path))
    git(path, "checkout", "--quiet", "--detach", head)
    tool(path, "dvc", "cache", "dir", "--local", tool(root, "dvc", "cache", "dir").strip())
    return path


def publish(workspace: Path, root: Path, name: str) -> None:
    """Push experiment `name`'s ref from a workspace to the project, as `dvc exp push` would to a remote (the
    outputs are in the shared cache already)."""
    refs = git(workspace, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    made = [ref for ref in refs if ref.rsplit("/", 1)[-1] == name]
    if not made:
        raise DataError(f"dvc exp run made no experiment {name}")
    git(workspace, "push", "--quiet", str(root), f"{made[0]}:{made[0]}")


def run_trial(
    root: Path,
    workspace: Path,
    dataset: str,
    metric: str,
    name: str,
    values: dict[str, Any],
    watched: dict[str, Any] | None = None,
) -> tuple[float | None, str]:
    """`dvc exp run` one trial in its workspace and push its experiment to the project at `root`: the validation
    metric, or None and the error's line. `watched` names the trial for its train stage to report to (pruning)."""
    git(workspace, "checkout", "--quiet", "--", ".")  # the last trial's params.yaml and dvc.lock back to HEAD's
    sets = [arg for path, value in values.items() for arg in ("-S", override(path, value))]
    command = ["dvc", "exp", "run", "--quiet", "-n", name, *sets]
    environment = {**os.environ, ENVIRONMENT: json.dumps(watched)} if watched else None
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith(("error: ", "ERROR: "))]
        return None, (lines[0] if lines else f"dvc exp run exited {done.returncode}")
    scored = workspace / paths.of(dataset).metrics
    value = (json.loads(scored.read_text()).get("valid") or {}).get(metric) if scored.exists() else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"its validation {metric} is {value}"  # no experiment is pushed for it
    publish(workspace, root, name)
    return float(value), ""


def grid_size(config: SearchConfig) -> int:
    """How many points a grid search has (every combination of the listed values)."""
    return math.prod(len(grid_values(distribution)) for distribution in config.space.values())


def grid_values(distribution: Any) -> list[Any]:
    """A grid's values for one param: a choice's, or every int of a range."""
    if distribution.type == "choice":
        return list(distribution.values)
    return list(range(distribution.low, distribution.high + 1, distribution.step))


def told(study: Any, trial: Any, value: float | None, state: Any) -> None:
    """Tell the study how a trial ended. Optuna's grid sampler stops the study after its last point, which the
    ask-and-tell interface refuses with a RuntimeError (optuna#5141) once the trial is stored: that one is no
    error here, as the search asks no more trials than the grid has."""
    try:
        study.tell(trial, value if state.name == "COMPLETE" else None, state=state)
    except RuntimeError as problem:
        if "Study.stop" not in str(problem):
            raise


def confirm(
    root: Path, dataset: str, best_few: int, workers: int | None = None, storage: str | None = None, report: Any = print
) -> tuple[set[str], str]:
    """Run the study's `best_few` completed trials again with CONFIRM_REPEATS seeds each, as experiments named
    `<trial's>-confirm` (kept when HEAD already has them); return their names and the search's metric, for
    `tinynets compare` to rank them on."""
    import optuna
    from optuna.trial import TrialState

    if best_few < 1:
        raise DataError(f"--confirm {best_few}: give the number of best trials to confirm (1 or more)")
    config, head = load_params(root / "params.yaml").search[dataset], git(root, "rev-parse", "HEAD").strip()
    study = optuna.load_study(
        study_name=study_name(dataset, config, trials_code(root)),
        storage=study_storage(storage_spec(root, dataset, storage)),
    )
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        raise DataError(f"no trial of the {dataset} search completed: nothing to confirm")
    best = sorted(completed, key=lambda trial: trial.value, reverse=study.direction.name == "MAXIMIZE")[:best_few]
    made = set(git(root, "for-each-ref", "--format=%(refname:lstrip=-1)", f"refs/exps/{head[:2]}/{head[2:]}").split())
    names = {trial.number: f"{trial.user_attrs['experiment']}-confirm" for trial in best}
    todo = [trial for trial in best if names[trial.number] not in made]
    repeats = {f"++datasets.{dataset}.train.repeats": CONFIRM_REPEATS}  # ++: set even where params.yaml omits it

    def rerun(path: Path, trial: Any) -> None:
        _, error = run_trial(root, path, dataset, config.metric, names[trial.number], {**trial.params, **repeats})
        if error:
            raise DataError(f"{names[trial.number]}: {error}")
        report(f"{dataset}: confirmed trial {trial.number} with {CONFIRM_REPEATS} seeds [{names[trial.number]}]")

    in_workspaces(root, dataset, todo, rerun, workers or config.workers, f"confirming {dataset}'s best trials")
    return set(names.values()), config.metric


def on_threads(work: Any, count: int) -> None:
    """`work(worker)` for each of `count` workers on threads of their own, until all return. The threads are
    joined a fifth of a second at a time, so that Ctrl-C reaches this (the main) thread at once."""
    threads = [threading.Thread(target=work, args=(worker,), daemon=True) for worker in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def in_workspaces(root: Path, dataset: str, items: list[Any], each: Any, workers: int, doing: str) -> None:
    """`each(workspace, item)` for every item, on `workers` threads, each in a workspace of its own; the first
    failure (or Ctrl-C) stops the rest and is raised in one line."""
    queue, lock, failures, stop = list(items), threading.Lock(), [], threading.Event()

    def work(worker: int) -> None:
        try:
            path = workspace(root, dataset, worker)
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    item = queue.pop(0)
                each(path, item)
        except Exception as problem:
            failures.append(problem)
            stop.set()

    try:
        on_threads(work, min(workers, len(items)))
    except KeyboardInterrupt:
        stop.set()
        raise DataError(f"{doing}: interrupted; run it again to go on") from None
    if failures:
        raise failures[0]


def storage_spec(root: Path, dataset: str, storage: str | None) -> str:
    """Where the study lives, as pruning.study_storage reads it: a URL, else the project's journal file."""
    if storage:
        return storage
    journal, before = root / paths.JOURNALS / f"{dataset}.journal", root / paths.SEARCHES / f"{dataset}.journal"
    journal.parent.mkdir(parents=True, exist_ok=True)
    if before.exists() and not journal.exists():  # where the first searches kept it
        before.rename(journal)
    return f"journal:{journal.resolve()}"


def summary(study: Any, dataset: str, config: SearchConfig) -> dict[str, Any]:
    """The search as plain data, for its figures (plot stage) and table (report): every trial it tried, in order
    (its params, value, how it ended), the best, and each param's importance (Optuna's fANOVA, seeded; it needs
    two completed trials)."""
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    tried = [trial for trial in ended if "experiment" in trial.user_attrs]  # not those an interruption cut short
    completed = [trial for trial in tried if trial.state == TrialState.COMPLETE]
    importance = {}
    if len(completed) >= 2:
        evaluator = FanovaImportanceEvaluator(seed=config.seed)
        try:
            importance = get_param_importances(study, evaluator=evaluator, params=list(config.space))
        except RuntimeError:  # every completed trial scored alike: no variance for any param to explain
            importance = {}
    rows = [
        {
            "number": trial.number,
            "experiment": trial.user_attrs["experiment"],
            "state": trial.state.name.lower(),
            "value": trial.value if trial.state == TrialState.COMPLETE else None,
            "params": trial.params,
            "error": trial.user_attrs.get("error", ""),
        }
        for trial in tried
    ]
    return {
        "format": SUMMARY_FORMAT,
        "dataset": dataset,
        "study": study.study_name,
        "sampler": config.sampler,
        "pruner": config.pruner,
        "metric": config.metric,
        "direction": study.direction.name.lower(),
        "space": {path: distribution.model_dump() for path, distribution in config.space.items()},
        "trials": rows,
        "best": study.best_trial.number if completed else None,
        "importance": {path: float(value) for path, value in importance.items()},
    }


def write_summary(root: Path, dataset: str, storage: str | None = None) -> Path | None:
    """Write the summary of `dataset`'s search (the study of HEAD's code and its search block) to
    search/<dataset>.json, for the plot and report stages; None (nothing written) when no trial has ended."""
    import optuna

    config = load_params(root / "params.yaml").search[dataset]
    name = study_name(dataset, config, trials_code(root))
    study = optuna.load_study(study_name=name, storage=study_storage(storage_spec(root, dataset, storage)))
    written = summary(study, dataset, config)
    if not written["trials"]:
        return None
    path = root / paths.of(dataset).search_summary
    files.write_json(path, written)
    return path


def open_study(spec: str, name: str, config: SearchConfig, direction: str) -> Any:
    """The search's study, created or loaded. Machines that start one search together race to create its tables
    and study in a shared database: the loser's error (a table or study that already exists) is retried, and
    then finds them made."""
    import optuna

    for attempt in (1, 2, 3):
        try:
            return optuna.create_study(
                study_name=name,
                storage=study_storage(spec),
                sampler=sampler(config),
                direction=direction,
                load_if_exists=True,
            )
        except Exception as error:  # an unreachable database, a URL it cannot read: whatever the storage raises
            raced = type(error).__name__ == "IntegrityError" or "already exists" in str(error)
            if not raced or attempt == 3:
                said = PASSWORD.sub(r"\1***@", one_line(f"--storage {spec}: {type(error).__name__}: {error}"))
                raise DataError(said[:300]) from None
            time.sleep(0.5)


def search(
    root: Path,
    dataset: str,
    trials: int | None = None,
    workers: int | None = None,
    storage: str | None = None,
    report: Any = print,
) -> Outcome | None:
    """Run dataset `dataset`'s search until its study holds `trials` finished trials, `report`ing each as it ends;
    return the study's best trial (of this search and the ones it resumed), if any trial completed."""
    import optuna
    from optuna.trial import TrialState

    params = load_params(root / "params.yaml")
    if dataset not in params.search:
        raise ConfigError(f"params.yaml: search.{dataset}: no search declared for {dataset} (see README, Search)")
    config = params.search[dataset]
    trials, workers = trials or config.trials, workers or config.workers
    if config.sampler == "grid":
        trials = min(trials, grid_size(config))
    direction = "maximize" if better(config.metric) > 0 else "minimize"
    check_space(root, dataset, config)
    check_workspace(root, params)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = storage_spec(root, dataset, storage)
    name = study_name(dataset, config, trials_code(root))
    study = open_study(spec, name, config, direction)
    if "tag" not in study.user_attrs:  # names its experiments: a new study (a journal deleted) makes new names
        study.set_user_attr("tag", secrets.token_hex(3))
    if storage is None:  # the project's own journal: a trial still running is one a stopped search left behind
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(stale.number, state=TrialState.FAIL)
    lock, stop, failures, mine = threading.Lock(), threading.Event(), [], set()

    def finished() -> int:  # a trial cut short by an interruption is told as failed, but was never tried
        ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
        return sum("experiment" in trial.user_attrs for trial in ended)

    def work(worker: int) -> None:
        try:
            workspace_path = workspace(root, dataset, worker)
            while not stop.is_set():
                with lock:
                    running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
                    if finished() + running >= trials:
                        return
                    trial = study.ask()
                    mine.add(trial.number)
                    values = {path: suggest(trial, path, d) for path, d in config.space.items()}
                experiment = f"{dataset}-{study.user_attrs['tag']}-{trial.number}"
                watched = {"storage": spec, "study": name, "trial": trial.number, "pruner": config.pruner}
                watched |= {"dataset": dataset, "direction": direction}
                value, error = run_trial(root, workspace_path, dataset, config.metric, experiment, values, watched)
                with lock:
                    if stop.is_set() and error:  # cut short: told as failed below, and not counted
                        return
                    trial.set_user_attr("experiment", experiment)
                    if error:
                        trial.set_user_attr("error", error)
                    pruned = PRUNED.search(error)
                    state = TrialState.PRUNED if pruned else TrialState.FAIL if error else TrialState.COMPLETE
                    error = pruned.group(0) if pruned else error
                    told(study, trial, value, state)
                    mine.discard(trial.number)
                    report(Outcome(trial.number, values, experiment, config.metric, value, error))
        except Exception as problem:  # a worker's failure ends the search, said in the main thread
            failures.append(problem)
            stop.set()

    try:
        on_threads(work, workers)
    except KeyboardInterrupt:
        stop.set()
        raise DataError(
            f"search of {dataset} {INTERRUPTED} (trials done: {finished()}); run it again to resume"
        ) from None
    finally:
        stop.set()
        with lock:
            for number in mine:  # this search's trials that did not finish
                told(study, number, None, TrialState.FAIL)
    if failures:
        raise failures[0]
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        return None
    best = study.best_trial
    return Outcome(best.number, best.params, best.user_attrs["experiment"], config.metric, best.value)

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
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinynets.common.errors import ConfigError, DataError
from tinynets.params import OWN_DATA, Params, SearchConfig
from tinynets.ranking import better
from tinynets.rules import load_params, one_line, parse_params

JOURNALS = Path("search")  # one journal file per dataset: the studies of its searches
WORKSPACES = Path(".dvc/tmp/search")  # the workers' worktrees (git and DVC ignore .dvc/tmp)
INTERRUPTED = "interrupted before it finished"


@dataclass(frozen=True)
class Outcome:
    """How one trial ended: its experiment's name, its validation `metric` (None: it failed), why it failed."""

    number: int
    params: dict[str, Any]
    experiment: str
    metric: str
    value: float | None
    error: str = ""


def override(path: str, value: Any) -> str:
    """`path=value` as `dvc exp run -S` reads it (Hydra's override grammar)."""
    return f"{path}={json.dumps(value)}"


def study_name(dataset: str, config: SearchConfig) -> str:
    """The study of this search: the dataset and a digest of what decides its trials (space, sampler, metric,
    seed), so that another space starts another study in the same journal."""
    decided = config.model_dump(include={"space", "sampler", "metric", "seed"})
    return f"{dataset}-{hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()[:6]}"


def bounds(distribution: Any) -> list[Any]:
    """The values a distribution can reach at its edges (or all of a choice's)."""
    return list(distribution.values) if distribution.type == "choice" else [distribution.low, distribution.high]


def check_space(root: Path, dataset: str, config: SearchConfig) -> None:
    """Refuse, in one line, a searched path that is not a param of params.yaml or a value validate would refuse,
    before any trial runs: each edge value is set as `-S` would set it, then the params are checked."""
    from dvc.exceptions import DvcException
    from dvc.utils.hydra import apply_overrides

    raw = (root / "params.yaml").read_text()
    scratch = root / WORKSPACES / "params-check.yaml"
    scratch.parent.mkdir(parents=True, exist_ok=True)
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
    scratch.unlink()


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


def git(root: Path, *args: str) -> str:
    """A git command's output; its failure as one line."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise DataError(f"git {args[0]}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    return done.stdout


def check_workspace(root: Path, params: Params) -> None:
    """Refuse what a trial's workspace (a clone of HEAD) would not see: uncommitted changes to tracked files (but
    to the search blocks, which no trial reads), and a user's own data files that git does not track."""
    status = git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = [line[3:] for line in status if not line.startswith("??") or line[3:].startswith(f"{OWN_DATA}/")]
    if "params.yaml" in changed:
        committed = yaml.safe_load(git(root, "show", "HEAD:params.yaml")) or {}
        if parse_params({**committed, "search": {}}).model_dump(exclude={"search"}) == params.model_dump(
            exclude={"search"}
        ):
            changed.remove("params.yaml")
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise DataError(f"a trial runs from HEAD and would not see {shown}: commit them (or stash them) first")


def workspace(root: Path, worker: int) -> Path:
    """Worker `worker`'s workspace: a fresh clone of HEAD (its objects shared with the project's) whose DVC cache
    is the project's. A clone, not a worktree: worktrees share the refs that `dvc exp run` keeps while it runs,
    and two at once fail."""
    path = root / WORKSPACES / f"worker-{worker}"
    if path.exists():
        shutil.rmtree(path)
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "clone", "--quiet", "--shared", "--no-checkout", str(root), str(path))
    git(path, "checkout", "--quiet", "--detach", head)
    subprocess.run(["dvc", "cache", "dir", "--local", str(root / ".dvc" / "cache")], cwd=path, check=True)
    return path


def publish(workspace: Path, root: Path, name: str) -> None:
    """Push experiment `name`'s ref from a workspace to the project, as `dvc exp push` would to a remote (the
    outputs are in the shared cache already)."""
    refs = git(workspace, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    ref = next(ref for ref in refs if ref.rsplit("/", 1)[-1] == name)
    git(workspace, "push", "--quiet", str(root), f"{ref}:{ref}")


def run_trial(
    root: Path, workspace: Path, dataset: str, metric: str, name: str, values: dict[str, Any]
) -> tuple[float | None, str]:
    """`dvc exp run` one trial in its workspace and push its experiment to the project at `root`: the validation
    metric, or None and the error's line."""
    git(workspace, "checkout", "--quiet", "--", ".")  # the last trial's params.yaml and dvc.lock back to HEAD's
    sets = [arg for path, value in values.items() for arg in ("-S", override(path, value))]
    command = ["dvc", "exp", "run", "--quiet", "-n", name, *sets]
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith(("error: ", "ERROR: "))]
        return None, (lines[0] if lines else f"dvc exp run exited {done.returncode}")
    publish(workspace, root, name)
    scores = json.loads((workspace / "metrics" / f"{dataset}.json").read_text())
    value = scores.get("valid", {}).get(metric)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"its validation {metric} is {value}"
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


CONFIRM_REPEATS = 3  # seeds per confirmed trial: enough for compare to weigh seed noise


def confirm(
    root: Path, dataset: str, best_few: int, workers: int | None = None, storage: str | None = None, report: Any = print
) -> tuple[set[str], str]:
    """Run the study's `best_few` completed trials again with CONFIRM_REPEATS seeds each, as experiments named
    `<trial's>-confirm` (kept when already made); return their names and the search's metric, for `tinynets
    compare` to rank them on."""
    import optuna
    from optuna.trial import TrialState

    if best_few < 1:
        raise DataError(f"--confirm {best_few}: give the number of best trials to confirm (1 or more)")
    config = load_params(root / "params.yaml").search[dataset]
    storage, workers = storage or journal(root, dataset), workers or config.workers
    study = optuna.load_study(study_name=study_name(dataset, config), storage=storage)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        raise DataError(f"no trial of the {dataset} search completed: nothing to confirm")
    best = sorted(completed, key=lambda trial: trial.value, reverse=study.direction.name == "MAXIMIZE")[:best_few]
    made = set(git(root, "for-each-ref", "--format=%(refname:lstrip=-1)", "refs/exps").split())
    todo = [trial for trial in best if f"{trial.user_attrs['experiment']}-confirm" not in made]
    repeats = {f"datasets.{dataset}.train.repeats": CONFIRM_REPEATS}
    queue, lock, failures = list(todo), threading.Lock(), []

    def work(worker: int) -> None:
        path = workspace(root, worker)
        while True:
            with lock:
                if not queue or failures:
                    return
                trial = queue.pop(0)
            name = f"{trial.user_attrs['experiment']}-confirm"
            _, error = run_trial(root, path, dataset, config.metric, name, {**trial.params, **repeats})
            with lock:
                if error:
                    failures.append(DataError(f"{name}: {error}"))
                report(f"{dataset}: confirmed trial {trial.number} with {CONFIRM_REPEATS} seeds [{name}]")

    threads = [threading.Thread(target=work, args=(worker,), daemon=True) for worker in range(min(workers, len(todo)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return {f"{trial.user_attrs['experiment']}-confirm" for trial in best}, config.metric


def journal(root: Path, dataset: str) -> Any:
    """The journal file that keeps a dataset's studies, in the project."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    (root / JOURNALS).mkdir(exist_ok=True)
    return JournalStorage(JournalFileBackend(str(root / JOURNALS / f"{dataset}.journal")))


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
    storage = storage or journal(root, dataset)
    name = study_name(dataset, config)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=sampler(config), direction=direction, load_if_exists=True
    )
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # a search stopped mid-trial
        study.tell(stale.number, state=TrialState.FAIL)
    lock, stop, failures = threading.Lock(), threading.Event(), []

    def finished() -> int:  # a trial cut short by an interruption is told as failed, but was never tried
        ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        return sum("experiment" in trial.user_attrs for trial in ended)

    def work(worker: int) -> None:
        try:
            workspace_path = workspace(root, worker)
            while not stop.is_set():
                with lock:
                    running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
                    if finished() + running >= trials:
                        return
                    trial = study.ask()
                    values = {path: suggest(trial, path, d) for path, d in config.space.items()}
                experiment = f"{name}-{trial.number}"
                value, error = run_trial(root, workspace_path, dataset, config.metric, experiment, values)
                with lock:
                    if stop.is_set():  # interrupted: the trial is told as failed below
                        return
                    trial.set_user_attr("experiment", experiment)
                    if error:
                        trial.set_user_attr("error", error)
                    told(study, trial, value, TrialState.FAIL if error else TrialState.COMPLETE)
                    report(Outcome(trial.number, values, experiment, config.metric, value, error))
        except Exception as problem:  # a worker's failure ends the search, said in the main thread
            failures.append(problem)
            stop.set()

    threads = [threading.Thread(target=work, args=(worker,), daemon=True) for worker in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        raise DataError(
            f"search of {dataset} {INTERRUPTED} (trials done: {finished()}); run it again to resume"
        ) from None
    finally:
        stop.set()
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(stale.number, state=TrialState.FAIL)
    if failures:
        raise failures[0]
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        return None
    best = study.best_trial
    return Outcome(best.number, best.params, best.user_attrs["experiment"], config.metric, best.value)

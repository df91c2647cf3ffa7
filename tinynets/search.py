"""`tinynets search`: an Optuna study over a dataset's params (its `search:` block), asked and told by hand so
that every trial is a named DVC experiment: `dvc exp run -n NAME -S path=value ...`, run in a workspace of its
own (a clone of HEAD sharing the project's DVC cache, each experiment pushed back to the project), so that K
workers train at once without DVC's queue. The study lives in a journal file in the project (or any Optuna
storage URL, which several machines share): a stopped search resumes where it stopped, a trial that did not
finish leaves no experiment and its point is asked again, and one search of a dataset runs in a project at a
time.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tinynets.common import files, paths
from tinynets.common.errors import ConfigError, DataError, TinynetsError
from tinynets.experiments import listed
from tinynets.params import Params, SearchConfig
from tinynets.ranking import better
from tinynets.rules import load_params, one_line, parse_params
from tinynets.search_summary import SUMMARY_FORMAT, check_summary
from tinynets.studies import (
    STORAGE_VARIABLE,
    Storage,
    ask_again,
    cause,
    check_grace,
    git,
    grid_size,
    grid_values,
    mark_new,
    mark_searched,
    of_dataset,
    resolve_storage,
    sampler,
    scrub,
    study_inputs,
    study_name,
    tool,
    trial_seed,
    why_new,
)
from tinynets.training.pruning import ENVIRONMENT, REPORTS, study_storage

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

INTERRUPTED = "interrupted before it finished"
CONFIRM_REPEATS = 3  # seeds per confirmed trial: enough for compare to weigh seed noise
PRUNED = re.compile(r"pruned at epoch \d+")  # what the train stage says when the pruner stops a trial
LOGS = paths.SEARCHES / "logs"  # every trial's whole output, <experiment>.log (git and DVC ignore them)
WAIT = "wait"  # no trial to ask now: another machine's may yet fall silent
STOP_GRACE = 30  # seconds a stopped trial's processes have to end on SIGINT before they are killed
# what a trial computes nothing from (a summary, a lock)
NOT_TRIAL_INPUTS = (f"{paths.SEARCHES}/", paths.LOCK_FILE.as_posix())


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

    raw = (root / paths.PARAMS_FILE).read_text()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / paths.PARAMS_FILE
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


def check_workspace(root: Path, params: Params) -> None:
    """Refuse what a trial's workspace (a clone of HEAD) would not see: uncommitted changes to tracked files (but
    to the search blocks, summaries and dvc.lock, from which no trial computes anything), and a user's own data
    files that git does not track."""
    entries, status = iter(git(root, "status", "--porcelain", "-z", "--untracked-files=all").split("\0")), []
    for entry in filter(None, entries):  # -z: each path as it is, not quoted (a name like "prø.csv")
        status.append(entry)
        if {"R", "C"} & set(entry[:2]):
            next(entries, None)  # a rename's or copy's former path
    own = f"{paths.OWN_DATA.as_posix()}/"
    changed = [line[3:] for line in status if not line.startswith("??") or line[3:].startswith(own)]
    changed = [path for path in changed if not path.startswith(NOT_TRIAL_INPUTS)]
    if paths.PARAMS_FILE.as_posix() in changed:
        committed = yaml.safe_load(git(root, "show", f"HEAD:{paths.PARAMS_FILE}")) or {}
        if parse_params({**committed, "search": {}}).model_dump(exclude={"search"}) == params.model_dump(
            exclude={"search"}
        ):
            changed.remove(paths.PARAMS_FILE.as_posix())
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
    path = root / paths.SEARCH_WORKSPACES / dataset / f"worker-{worker}"
    if path.exists():
        shutil.rmtree(path)
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "clone", "--quiet", "--shared", "--no-checkout", str(root), str(path))
    git(path, "checkout", "--quiet", "--detach", head)
    cache = tool(root, "dvc", "cache", "dir").strip()
    # relative: DVC writes its config as ASCII, and a project's path may not be (the cache's usually is inside it)
    tool(path, "dvc", "cache", "dir", "--local", os.path.relpath(cache, path))
    return path


def publish(workspace: Path, root: Path, name: str) -> None:
    """Push experiment `name`'s ref from a workspace to the project, as `dvc exp push` would to a remote (the
    outputs are in the shared cache already)."""
    refs = git(workspace, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    made = [ref for ref in refs if ref.rsplit("/", 1)[-1] == name]
    if not made:
        raise DataError(f"dvc exp run made no experiment {name}")
    git(workspace, "push", "--quiet", str(root), f"{made[0]}:{made[0]}")


class TrialProcesses:
    """The processes of a search's trials, each in a session of its own (so that a Ctrl-C meant for the search
    reaches them only through it): started, waited for, and stopped together."""

    def __init__(self) -> None:
        self.running: set[subprocess.Popen] = set()
        self.lock, self.stopping = threading.Lock(), False

    def run(self, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
        """Run `command` to its end, its output (stdout and stderr) in `log`; its exit status."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out, self.lock:
            if self.stopping:
                return -signal.SIGINT
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.running.add(process)
        try:
            return process.wait()
        finally:
            with self.lock:
                self.running.discard(process)

    def stop(self) -> None:
        """End every running trial: SIGINT to its process group (DVC cleans up), SIGKILL after STOP_GRACE."""
        with self.lock:
            self.stopping, running = True, list(self.running)
        for process in running:
            with suppress(ProcessLookupError):  # it ended on its own meanwhile
                os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):  # it ended on its own meanwhile
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def failure(log: Path, status: int) -> str:
    """A failed trial's cause in one line, from its log: the first error line, else an exception's last line."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return cause(lines, otherwise=f"dvc exp run exited {status}")


def run_trial(
    root: Path,
    workspace: Path,
    dataset: str,
    metric: str,
    name: str,
    values: dict[str, Any],
    processes: TrialProcesses,
    pruning: dict[str, Any] | None = None,
) -> tuple[float | None, str]:
    """`dvc exp run` one trial in its workspace, its output in search/logs/NAME.log of the project at `root`: the
    validation metric, or None and why not (with where its log is); `publish` then pushes its experiment. `pruning`
    names the trial for its train stage to report to (pruning)."""
    git(workspace, "checkout", "--quiet", "--", ".")  # the last trial's params.yaml and dvc.lock back to HEAD's
    sets = [arg for path, value in values.items() for arg in ("-S", override(path, value))]
    command = ["dvc", "exp", "run", "-n", name, *sets]  # not --quiet: the log keeps every stage's output
    environment = {key: value for key, value in os.environ.items() if key != STORAGE_VARIABLE}
    if pruning:
        environment[ENVIRONMENT] = json.dumps(pruning)
    log = root / LOGS / f"{name}.log"
    status = processes.run(command, workspace, environment, log)
    if status != 0:
        return None, f"{failure(log, status)} (log: {log.relative_to(root)})"
    scored = workspace / paths.of(dataset).metrics
    valid = (json.loads(scored.read_text()).get("valid") or {}) if scored.exists() else {}
    if valid and metric not in valid:  # every trial would end so: the search stops here
        written = ", ".join(key for key, value in valid.items() if isinstance(value, int | float))
        raise DataError(
            f"{dataset} writes no validation {metric} (it writes {written}): choose one in search.{dataset}.metric"
        )
    value = valid.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"its validation {metric} is {value}"  # no experiment is pushed for it
    return float(value), ""


def told(study: Any, trial: Any, value: float | None, state: Any) -> bool:
    """Tell the study how a trial (asked, or read from the study) ended; False when it had ended already (another
    machine failed it as silent, and queued its point). Optuna's grid sampler stops the study after its last point,
    which the ask-and-tell interface refuses with a RuntimeError (optuna#5141) once the trial is stored: that one
    is no error here, as the search asks no more trials than the grid has."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.samplers import GridSampler

    if study._storage.get_trial(trial._trial_id).state.is_finished():
        return False
    try:  # skip_if_finished and UpdateFinishedTrialError: it ended since
        study.tell(trial.number, value if state.name == "COMPLETE" else None, state=state, skip_if_finished=True)
    except UpdateFinishedTrialError:
        return False
    except RuntimeError:
        if not isinstance(study.sampler, GridSampler):
            raise
    return True


@contextmanager
def one_search(root: Path, dataset: str) -> Iterator[None]:
    """Hold the project's lock on `dataset`'s search, or refuse in one line naming the search that holds it."""
    path = root / paths.SEARCH_WORKSPACES / f"{dataset}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise DataError(
                f"a search of {dataset} runs in this project already ({holder}): wait for it or stop it "
                "(several machines share one study through --storage)"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, since {time.strftime('%H:%M:%S')}")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)


STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, a scheduler, a terminal or ssh gone


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT, SIGTERM or SIGHUP stops a search: as a KeyboardInterrupt in this thread; any further one is ignored
    until the block ends, so that the stop (trials ended, told and asked again, workspaces removed) completes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: Any) -> None:
        for each in STOPS:
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt

    before = {each: signal.signal(each, interrupt) for each in STOPS}
    try:
        yield
    finally:
        for each, handler in before.items():
            signal.signal(each, handler)


def confirm(
    root: Path, dataset: str, best_few: int, workers: int | None = None, storage: str | None = None, report: Any = print
) -> tuple[set[str], str]:
    """Run the study's `best_few` completed trials again with CONFIRM_REPEATS seeds each, as experiments named
    `<trial's>-confirm-<first seed>` (kept when HEAD already has them); return their names and the search's metric, for
    `tinynets compare` to rank them on."""
    from optuna.trial import TrialState

    if best_few < 1:
        raise DataError(f"--confirm-best {best_few}: give the number of best trials to confirm (1 or more)")
    params, head = load_params(root / paths.PARAMS_FILE), git(root, "rev-parse", "HEAD").strip()
    config = params.search[dataset]
    study = load(root, dataset, config, resolve_storage(root, dataset, storage, Path.cwd()))
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        raise DataError(f"no trial of the {dataset} search completed: nothing to confirm")
    best = sorted(completed, key=lambda trial: trial.value, reverse=study.direction.name == "MAXIMIZE")[:best_few]
    made = set(git(root, "for-each-ref", "--format=%(refname:lstrip=-1)", f"refs/exps/{head[:2]}/{head[2:]}").split())
    first = fresh_seed(params, dataset, completed)  # in the name: kept only on the seeds a confirmation needs
    names = {trial.number: f"{trial.user_attrs['experiment']}-confirm-{first}" for trial in best}
    todo = [trial for trial in best if names[trial.number] not in made]
    train = f"++datasets.{dataset}.train"  # ++: set even where params.yaml omits it
    repeats = {f"{train}.repeats": CONFIRM_REPEATS, f"{train}.seed": first}
    processes = TrialProcesses()

    def rerun(path: Path, trial: Any) -> None:
        name = names[trial.number]
        _, error = run_trial(root, path, dataset, config.metric, name, {**trial.params, **repeats}, processes)
        if error:
            raise DataError(f"{name}: {error}")
        publish(path, root, name)
        seeds = f"seeds {first}-{first + CONFIRM_REPEATS - 1}"
        report(f"{dataset}: confirmed trial {trial.number} with {seeds}, none it was chosen on [{name}]")

    doing = f"confirming {dataset}'s best trials"
    with one_search(root, dataset):  # its workspaces are the search's
        in_workspaces(root, dataset, todo, rerun, workers or config.workers, doing, processes)
    return set(names.values()), config.metric


def fresh_seed(params: Params, dataset: str, trials: Sequence[FrozenTrial]) -> int:
    """The first training seed after every seed the trials trained on (from the one params.yaml starts them at,
    as many as each trial's repeats): a confirmation on the seed a trial was chosen on would repeat its luck
    (the winner's curse), not weigh it. The seeds are not searchable (validate), so they are params.yaml's."""
    train = params.dataset(dataset).train
    start = params.seed if train.seed is None else train.seed
    return start + max(trial.params.get(f"datasets.{dataset}.train.repeats", train.repeats) for trial in trials)


def on_threads(work: Callable[[int], None], count: int, finished: list[threading.Event]) -> None:
    """`work(worker)` for each of `count` workers on threads of their own, until all return; each sets its event
    in `finished` when it does. The events are waited on a fifth of a second at a time, so that Ctrl-C reaches
    this (the main) thread at once: not Thread.join, which a KeyboardInterrupt can leave believing a live thread
    has ended (CPython's bpo-45274 clean-up)."""

    def run(worker: int, done: threading.Event) -> None:
        try:
            work(worker)
        finally:
            done.set()

    finished.extend(threading.Event() for _ in range(count))
    for worker, done in enumerate(finished):
        threading.Thread(target=run, args=(worker, done), daemon=True).start()
    for done in finished:
        while not done.wait(0.2):
            pass


def stop_threads(finished: list[threading.Event], stop: threading.Event, processes: TrialProcesses) -> None:
    """Stop every worker: no more trials, the running ones ended, each worker back (so none tells a trial after
    the stop's own clean-up)."""
    stop.set()
    processes.stop()
    for done in finished:
        done.wait(STOP_GRACE)


def in_workspaces(
    root: Path, dataset: str, items: list[Any], each: Any, workers: int, doing: str, processes: TrialProcesses
) -> None:
    """`each(workspace, item)` for every item, on `workers` threads, each in a workspace of its own; the first
    failure (or Ctrl-C, or SIGTERM) stops the rest and is raised in one line."""
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
            if not stop.is_set():
                failures.append(problem)
            stop.set()

    finished: list[threading.Event] = []
    with stopped_by_signals():
        try:
            on_threads(work, min(workers, len(items)), finished)
        except KeyboardInterrupt:
            stop_threads(finished, stop, processes)
            raise DataError(f"{doing}: interrupted; run it again to go on") from None
        finally:
            shutil.rmtree(root / paths.SEARCH_WORKSPACES / dataset, ignore_errors=True)
    if failures:
        raise failures[0]


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


def load(root: Path, dataset: str, config: SearchConfig, storage: Storage) -> Any:
    """The study a search of `dataset` at HEAD resumes; a DataError when none is stored."""
    import optuna

    name = study_name(dataset, config, study_inputs(root))
    try:
        return optuna.load_study(study_name=name, storage=study_storage(storage.url))
    except KeyError:
        raise DataError(f"{storage.shown} holds no study {name} (no search of {dataset} ran at HEAD)") from None
    except Exception as error:  # an unreachable database, whatever the storage raises
        raise storage_error(storage, error) from None


def write_summary(root: Path, dataset: str, storage: str | None = None) -> Path | None:
    """Write the summary of `dataset`'s search (the study of HEAD's code and its search block) to
    search/<dataset>.json, for the plot and report stages; None (nothing written) when no trial has ended."""
    config = load_params(root / paths.PARAMS_FILE).search[dataset]
    study = load(root, dataset, config, resolve_storage(root, dataset, storage, Path.cwd()))
    return summary_of(root, dataset, study, config)


def summary_of(root: Path, dataset: str, study: Any, config: SearchConfig) -> Path | None:
    """Write `study`'s summary to search/<dataset>.json; None (nothing written) when no trial has ended."""
    written = summary(study, dataset, config)
    if not written["trials"]:
        return None
    path = root / paths.of(dataset).search_summary
    files.write_json(path, written)
    return path


def open_study(storage: Storage, name: str, config: SearchConfig, workers: int, direction: str) -> tuple[Any, bool]:
    """The search's study, created or loaded, and whether it is new. Machines that start one search together race
    to create its tables and study in a shared database: the loser's error (a table or study that already exists)
    is retried, and then finds them made."""
    import optuna

    for attempt in (1, 2, 3):
        try:
            made = study_storage(storage.url, config.grace)
            existed = name in optuna.get_all_study_names(made)
            study = optuna.create_study(
                study_name=name,
                storage=made,
                sampler=sampler(config, workers if storage.own else max(workers, 2)),  # shared: others run too
                direction=direction,
                load_if_exists=True,
            )
            return study, not existed
        except Exception as error:  # an unreachable database, a URL it cannot read: whatever the storage raises
            raced = type(error).__name__ == "IntegrityError" or "already exists" in str(error)
            if not raced or attempt == 3:
                raise storage_error(storage, error) from None
            time.sleep(0.5)
    raise AssertionError("unreachable")


def storage_error(storage: Storage, error: Exception) -> DataError:
    """A storage's failure in one line: the library's first line, with the URL's password masked."""
    said = f"--storage {storage.shown}: {type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
    return DataError(one_line(scrub(said, storage.url))[:300])


def searched_start(config: SearchConfig, params: Params) -> dict[str, Any] | None:
    """params.yaml's own values of the searched params, when each lies in the space: a new study's trial 0, so
    the search's best is weighed against where the user started."""
    start = {}
    for path, distribution in config.space.items():
        value: Any = params.model_dump()
        for key in path.split("."):
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return None
        if not within(value, distribution):
            return None
        start[path] = value
    return start


def within(value: Any, distribution: Any) -> bool:
    """Whether a distribution can draw `value`."""
    if distribution.type == "choice":
        return value in distribution.values
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if distribution.type == "int":
        return (
            isinstance(value, int)
            and distribution.low <= value <= distribution.high
            and (value - distribution.low) % distribution.step == 0
        )
    return distribution.low <= value <= distribution.high


def reporting_every(config: SearchConfig, dataset: str, params: Params) -> int:
    """Epochs between a trial's reports to the pruner, alike for every trial (a searched epochs' least value
    decides), so that the pruner weighs them at the same epochs."""
    epochs = params.datasets[dataset].train.epochs
    searched = config.space.get(f"datasets.{dataset}.train.epochs")
    if searched is not None:
        least = min(searched.values) if searched.type == "choice" else searched.low
        epochs = int(least) if isinstance(least, int | float) and least >= 1 else epochs
    return max(1, epochs // REPORTS)


def check_search(root: Path, dataset: str, params: Params) -> SearchConfig:
    """Refuse, in one line, a search that could not give an answer: no search block, a dataset out of `run`, a
    metric the dataset did not write the last time it ran."""
    if dataset not in params.search:
        raise ConfigError(f"params.yaml: search.{dataset}: no search declared for {dataset} (see README, Search)")
    if dataset not in params.run:
        raise ConfigError(f"params.yaml: run: lacks {dataset}, so no trial would train it: add it to run first")
    config = params.search[dataset]
    scored = root / paths.of(dataset).metrics
    if scored.exists():
        valid = json.loads(scored.read_text()).get("valid") or {}
        numbers = [
            key for key, value in valid.items() if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if numbers and config.metric not in numbers:
            raise ConfigError(
                f"params.yaml: search.{dataset}.metric: {scored.relative_to(root)} holds no validation "
                f"{config.metric} (it holds {', '.join(numbers)})"
            )
    return config


def search(
    root: Path,
    dataset: str,
    trials: int | None = None,
    workers: int | None = None,
    storage: str | None = None,
    report: Callable[[Any], None] = print,
) -> Outcome | None:
    """Run dataset `dataset`'s search until its study holds `trials` finished trials, `report`ing each as it ends;
    return the study's best trial (of this search and the ones it resumed), if any trial completed."""
    params = load_params(root / paths.PARAMS_FILE)
    config = check_search(root, dataset, params)
    check_space(root, dataset, config)
    check_workspace(root, params)
    where = resolve_storage(root, dataset, storage, Path.cwd())
    trials = trials or config.trials
    workers = min(workers or config.workers, trials)  # a worker more than the trials would clone for nothing
    with one_search(root, dataset):
        return searching(root, dataset, params, config, where, trials, workers, report)


def searching(
    root: Path,
    dataset: str,
    params: Params,
    config: SearchConfig,
    storage: Storage,
    trials: int,
    workers: int,
    report: Callable[[Any], None],
) -> Outcome | None:
    """The search itself, the project's lock held."""
    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.storages._heartbeat import get_heartbeat_thread, is_heartbeat_enabled
    from optuna.trial import TrialState

    trials = min(trials, most_trials(config))
    workers = min(workers, trials)
    direction = "maximize" if better(config.metric) > 0 else "minimize"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    inputs = study_inputs(root)
    name = study_name(dataset, config, inputs)
    study, new = open_study(storage, name, config, workers, direction)
    if new:
        report(f"{dataset}: a new study {name} ({why_new(dataset, study._storage, inputs, config)})")
        mark_new(study, inputs, config)
        start = searched_start(config, params) if config.sampler != "grid" else None  # a grid has its own order
        if start is not None:
            study.enqueue_trial(start, user_attrs={"start": True})  # trial 0: where params.yaml stands
        elif config.sampler != "grid":
            report(f"{dataset}: params.yaml's point lies outside the space: trial 0 is drawn like the others")
    check_grace(study, dataset, config)
    mark_searched(study)
    if "tag" not in study.user_attrs:  # names its experiments: a new study (a journal deleted) makes new names
        study.set_user_attr("tag", secrets.token_hex(3))
    if storage.own:  # the project's own journal, its lock held: a trial still running is a dead search's
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            give_back(study, stale)
    # for the train stage's pruning: in no child's environment
    storage_file = root / paths.SEARCH_WORKSPACES / dataset / "storage"
    every = reporting_every(config, dataset, params)
    processes, lock, stop, failures, mine = TrialProcesses(), threading.Lock(), threading.Event(), [], {}

    def finished() -> int:  # a trial cut short by an interruption is told as failed, but was never tried
        ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
        return sum("experiment" in trial.user_attrs for trial in ended)

    def asked() -> tuple[Any, dict[str, Any]] | str | None:
        """A new trial and its point, none an earlier trial asked; None when the study has its trials (or the
        search stops), or WAIT while only other machines' trials run, which may yet fall silent and be asked
        again."""
        if stop.is_set():
            return None
        fail_stale_trials(study)  # on a database: a trial whose machine fell silent, failed and asked again
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if finished() + len(running) >= trials:
            theirs = [trial for trial in running if trial.number not in mine]
            return WAIT if theirs and finished() < trials and is_heartbeat_enabled(study._storage) else None
        got = ask_point(study, config, dataset)
        if got:
            mine[got[0].number] = got[0]
        return got

    def work(worker: int) -> None:
        try:
            workspace_path = workspace(root, dataset, worker)
            while not stop.is_set():
                with lock:
                    got = asked()
                if got is None:
                    return
                if got == WAIT:
                    stop.wait(max(1, config.grace // 6))
                    continue
                trial, values = got
                experiment = f"{dataset}-{study.user_attrs['tag']}-{trial.number}"
                pruning = {"storage_file": str(storage_file), "study": name, "trial": trial.number}
                pruning |= {"pruner": config.pruner, "dataset": dataset, "metric": config.metric, "every": every}
                with get_heartbeat_thread(trial._trial_id, study._storage):  # until it is told
                    value, error = run_trial(
                        root, workspace_path, dataset, config.metric, experiment, values, processes, pruning
                    )
                    with lock:
                        if stop.is_set() and error:  # cut short: told as failed below, its point asked again
                            return
                        if study._storage.get_trial(trial._trial_id).state != TrialState.RUNNING:
                            del mine[trial.number]  # another machine failed it as silent, and asks its point again
                            report(Outcome(trial.number, values, experiment, config.metric, None, "silent too long"))
                            continue  # so it is no experiment: that point's would be its second
                        if not error:
                            publish(workspace_path, root, experiment)
                        trial.set_user_attr("experiment", experiment)
                        if error:
                            trial.set_user_attr("error", error)
                        pruned = PRUNED.search(error)
                        state = TrialState.PRUNED if pruned else TrialState.FAIL if error else TrialState.COMPLETE
                        error = pruned.group(0) if pruned else error
                        told(study, trial, value, state)
                        del mine[trial.number]
                        report(Outcome(trial.number, values, experiment, config.metric, value, error))
        except Exception as problem:  # a worker's failure ends the search (the others' trials cut short, their
            failures.append(problem)  # points asked again), said in the main thread
            stop.set()
            processes.stop()

    returned: list[threading.Event] = []
    with stopped_by_signals():
        try:
            storage_file.parent.mkdir(parents=True, exist_ok=True)
            storage_file.unlink(missing_ok=True)
            with os.fdopen(os.open(storage_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as private:
                private.write(storage.url)
            on_threads(work, workers, returned)
        except KeyboardInterrupt:
            stop_threads(returned, stop, processes)
            said = f"search of {dataset} {INTERRUPTED} (trials done: {finished()}); run it again to resume"
            failures.insert(0, DataError(said))
        finally:
            stop.set()
            try:
                with lock:
                    for trial in mine.values():  # this search's trials that did not finish: asked again
                        give_back(study, trial)
                    mine.clear()
                if failures:  # a search stopped midway: the summary of the trials that ended, if it can be written
                    with suppress(Exception):  # (the stop's own error says what went wrong)
                        summary_of(root, dataset, study, config)
            finally:
                shutil.rmtree(root / paths.SEARCH_WORKSPACES / dataset, ignore_errors=True)  # its storage file too
    if failures:
        problem = failures[0]
        if isinstance(problem, TinynetsError):
            raise problem
        said = f"search of {dataset}: {type(problem).__name__}: {(str(problem).strip().splitlines() or [''])[0]}"
        raise DataError(one_line(scrub(said, storage.url))[:300]) from problem  # a database's, say: masked
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        return None
    best = study.best_trial
    return Outcome(best.number, best.params, best.user_attrs["experiment"], config.metric, best.value)


def most_trials(config: SearchConfig) -> int | float:
    """How many trials a search can ask without repeating a point: a grid's, or any space of ints and choices,
    its number of points; a space with a float range, no end."""
    if config.sampler == "grid" or all(d.type in ("int", "choice") for d in config.space.values()):
        return grid_size(config)
    return math.inf


def give_back(study: Any, trial: Any) -> None:
    """Fail a trial this search cannot finish and queue its point to be asked again, unless it ended already (a
    machine that found it silent failed it, and queued its point)."""
    from optuna.trial import TrialState

    if told(study, trial, None, TrialState.FAIL):
        ask_again(study, trial)


def ask_point(study: Any, config: SearchConfig, dataset: str) -> tuple[Any, dict[str, Any]] | None:
    """A new trial and its point, one no earlier trial asked. A point asked before is told failed, never run; in a
    space of ints and choices an untried point is queued in its place (TPE keeps proposing its best few). None
    when every point of such a space was asked."""
    from optuna.storages._heartbeat import is_heartbeat_enabled
    from optuna.trial import TrialState

    for _ in range(100):
        trial = study.ask()
        if is_heartbeat_enabled(study._storage):  # at once: a machine dying before its first beat is found too
            study._storage.record_heartbeat(trial._trial_id)
        values = {path: suggest(trial, path, d) for path, d in config.space.items()}
        if not repeated(study, trial.number, values):
            return trial, values
        trial.set_user_attr("repeats_a_point", True)
        told(study, trial, None, TrialState.FAIL)  # never run; the next trial is seeded otherwise
        if config.sampler != "grid" and most_trials(config) < math.inf:
            point = untried(study, config, trial.number)
            if point is None:
                return None
            study.enqueue_trial(point)
    raise DataError(f"search of {dataset}: the sampler proposed only points already tried: the space is spent")


def untried(study: Any, config: SearchConfig, number: int) -> dict[str, Any] | None:
    """A point of a space of ints and choices that no trial asked or waits to ask, drawn with trial `number`'s
    seed; None when every point was asked."""
    from optuna.trial import TrialState

    asked = [
        trial.params or trial.system_attrs.get("fixed_params", {})
        for trial in study.get_trials(deepcopy=False)
        if not (trial.state == TrialState.FAIL and "experiment" not in trial.user_attrs)  # never tried
    ]
    values = itertools.product(*map(grid_values, config.space.values()))
    points = (dict(zip(config.space, point, strict=True)) for point in values)
    left = [point for point in points if point not in asked]
    return random.Random(trial_seed(config.seed, number)).choice(left) if left else None


def repeated(study: Any, number: int, values: dict[str, Any]) -> bool:
    """Whether an earlier trial (running, waiting or one that was tried) asked the point `values`."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False):
        if trial.number == number or trial.params != values:
            continue
        if trial.state == TrialState.FAIL and "experiment" not in trial.user_attrs:
            continue  # cut short, or itself a repeat: never tried
        return True
    return False


def status(root: Path, dataset: str, storage: str | None = None) -> list[str]:
    """The studies of `dataset` in its storage, a line each (trials by state, the best), and which one a search
    would resume now, or why it would start a new one."""
    import optuna
    from optuna.trial import TrialState

    params = load_params(root / paths.PARAMS_FILE)
    config = check_search(root, dataset, params)
    where = resolve_storage(root, dataset, storage, Path.cwd())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inputs = study_inputs(root)
    current = study_name(dataset, config, inputs)
    try:
        made = study_storage(where.url)
        names = [n for n in optuna.get_all_study_names(made) if of_dataset(n, dataset)]
    except Exception as error:  # an unreachable database, whatever the storage raises
        raise storage_error(where, error) from None
    lines = [f"{dataset}: studies in {where.shown}" if names else f"{dataset}: no study in {where.shown} yet"]
    for name in names:
        try:
            study = optuna.load_study(study_name=name, storage=made)
        except Exception as error:  # the database went away meanwhile
            raise storage_error(where, error) from None
        tried = [
            t
            for t in study.get_trials(deepcopy=False)
            if "experiment" in t.user_attrs or t.state.name in ("RUNNING", "WAITING")
        ]
        counts = {state: sum(t.state == state for t in tried) for state in TrialState}
        shown = ", ".join(f"{count} {state.name.lower()}" for state, count in counts.items() if count)
        complete = [t for t in tried if t.state == TrialState.COMPLETE]
        best = ""
        if complete:
            top = study.best_trial
            best = f"; best trial {top.number}: valid {config.metric} {top.value:.4g} [{top.user_attrs['experiment']}]"
        mark = "  <- a search now resumes it" if name == current else ""
        lines.append(f"  {name}: {len(tried)} trials ({shown or 'none ended'}){best}{mark}")
    if current not in names:
        lines.append(f"{dataset}: a search now starts a new study {current} ({why_new(dataset, made, inputs, config)})")
    return lines

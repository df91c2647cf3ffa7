"""What `tinynets search` costs and finds:
- on iris (the seed's net, 20,000 epochs, a validation split): a trial's wall time (from the study's own start
  and end times) against a plain `dvc exp run -S` of like params, and trials per minute with 2 workers against
  1 (real searches, real DVC experiments, each param set new: nothing restored from the run-cache);
- on circles that overlap (make_circles with factor 0.5 and noise 0.2, so that no setting reaches a zero loss),
  over four params that matter (lr, hidden units, momentum, weight decay: the validation loss spans 0.4 to
  0.7 and more): the best validation loss after 16, 32 and 64 trials, median over 10 search seeds, TPE beside
  random search, with a figure of both curves (bench/search_tpe_vs_random.png); and the epochs the median
  pruner saves on a 24-trial search. These train in this process with the train stage's own code (Job,
  train_once) and the search's own sampler, suggest and pruning Reporter (through TINYNETS_TRIAL), each trial
  scored with the valid loss the train stage writes: a few thousand DVC experiments would take hours. A
  trial's params are set in the train settings directly (momentum and weight decay, which params.yaml leaves
  at their defaults, included).

`python bench/searches.py` prints these figures alone; `make bench` prints them with the rest.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
import yaml

from tinynets.common import files, paths
from tinynets.common.errors import TrainingError
from tinynets.common.settings import Settings
from tinynets.parallel import cores
from tinynets.params import SearchConfig
from tinynets.search import PRUNED, suggest
from tinynets.studies import resolve_storage, sampler
from tinynets.training.outputs import network_outputs
from tinynets.training.pruning import ENVIRONMENT, REPORTS, study_storage
from tinynets.training.runner import Job, train_once
from tinynets.training.tensors import ONE_PROCESS

ROOT = Path(__file__).resolve().parents[1]
TIMED = "iris"  # the trials timed: the seed's net and its 20,000 epochs
SAMPLED = "circles"  # the samplers' and the pruner's trainings
NOISY = {"n_samples": 1000, "factor": 0.5, "noise": 0.2}  # circles that overlap: no setting reaches a zero loss
SAMPLER_EPOCHS = 300  # a trial: a fifth of a second
LR, HIDDEN, MOMENTUM, DECAY = (
    f"datasets.{SAMPLED}.{key}"
    for key in ("train.lr", "model.layers.1", "train.optimizer.momentum", "train.optimizer.weight_decay")
)
SPACE = {
    LR: {"type": "log_uniform", "low": 0.001, "high": 3.0},
    HIDDEN: {"type": "int", "low": 2, "high": 32},
    MOMENTUM: {"type": "uniform", "low": 0.0, "high": 0.95},
    DECAY: {"type": "log_uniform", "low": 1e-6, "high": 0.1},
}
SEEDS = 10
BUDGETS = (16, 32, 64)  # trials after which the best valid loss so far is read
FIGURE = Path(__file__).resolve().parent / "search_tpe_vs_random.png"
PRUNING_TRIALS = 24


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def project(scratch: Path) -> Path:
    """A clone of HEAD running iris and the noisier circles, each with a validation split, trained and committed."""
    clone = scratch / "tinynets"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["run"], params["export"] = [TIMED, SAMPLED], []
    for name in params["run"]:
        params["datasets"][name]["train"]["valid_size"] = 0.2
    params["datasets"][SAMPLED]["data"]["kwargs"] = NOISY
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    timed(["dvc", "repro"], clone)
    timed(["git", "commit", "-qam", "bench: validation splits, circles that overlap"], clone)
    return clone


def grid_search(clone: Path, values: list[float], workers: int) -> tuple[float, list[float]]:
    """A search of iris over these learning rates (a grid) with `workers` workers: its wall seconds, and each
    trial's (the study's start and end times: a trial's `dvc exp run` and the git around it)."""
    params, lr = yaml.safe_load((clone / "params.yaml").read_text()), f"datasets.{TIMED}.train.lr"
    block = {"space": {lr: {"type": "choice", "values": values}}, "sampler": "grid", "pruner": "none"}
    params["search"] = {TIMED: block | {"trials": len(values), "workers": workers}}
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))  # a search block: no commit needed
    wall = timed(["tinynets", "search", TIMED], clone)
    storage = study_storage(resolve_storage(clone, TIMED, None, clone).url)
    for summary in optuna.get_all_study_summaries(storage):
        made = optuna.load_study(study_name=summary.study_name, storage=storage)
        if sorted(trial.params.get(lr) for trial in made.trials) == sorted(values):
            return wall, [(trial.datetime_complete - trial.datetime_start).total_seconds() for trial in made.trials]
    raise RuntimeError(f"no study of the search over {values}")


def trial_costs(clone: Path) -> dict[str, float]:
    """A trial's seconds against a plain `dvc exp run -S` (medians), the 1-worker search's start-up beyond its
    trials, and the walls of 4 trials on 1 worker and on 2."""
    sets = [f"datasets.{TIMED}.train.lr={lr}" for lr in (0.051, 0.052, 0.053)]
    plain = [timed(["dvc", "exp", "run", "-S", lr], clone) for lr in sets]
    timed(["git", "checkout", "--", "."], clone)  # params.yaml and dvc.lock as HEAD has them: a search runs from HEAD
    one, trials = grid_search(clone, [0.011, 0.012, 0.013, 0.014], workers=1)
    two, _ = grid_search(clone, [0.021, 0.022, 0.023, 0.024], workers=2)
    return {
        "plain": statistics.median(plain),
        "trial": statistics.median(trials),
        "start-up": one - sum(trials),
        "one worker": one,
        "two workers": two,
    }


class Objective:
    """The noisier circles' validation loss for a trial's params, trained by the train stage's code in this
    process."""

    def __init__(self, clone: Path) -> None:
        self.clone, self.where = clone, paths.of(SAMPLED)
        self.settings = files.read_json(clone / self.where.train_settings)
        self.settings["train"]["epochs"] = SAMPLER_EPOCHS
        self.epochs = 0  # trained, over every call

    def __call__(self, values: dict[str, Any]) -> float | None:
        """The valid loss, or None when the study's pruner stopped the trial (TINYNETS_TRIAL names it)."""
        data = copy.deepcopy(self.settings)
        for path, value in values.items():
            *keys, last = [int(key) if key.isdigit() else key for key in path.split(".")[2:]]
            target = data
            for key in keys:
                target = target[key]
            target[last] = value
        previous = os.getcwd()
        os.chdir(self.clone)
        try:
            job = Job.of(self.where, Settings(data), torch.device("cpu"), ONE_PROCESS)
            self.where.checkpoint(0).unlink(missing_ok=True)  # another trial's run is never resumed
            with quiet():
                finished = train_once(job, 0)
        except TrainingError as stop:  # the train stage's own words for a stop: pruned, or diverged (failed)
            pruned = PRUNED.search(str(stop))
            if not pruned:
                return math.inf  # as tinynets search records it: a failed trial, which the sampler avoids
            self.epochs += int(pruned.group(0).split()[-1])
            return None
        finally:
            self.where.checkpoint(0).unlink(missing_ok=True)
            os.chdir(previous)
        self.epochs += finished.run.epoch
        return float(network_outputs([finished], job.train.loss)["valid_loss"])


class quiet:
    """Training's progress lines (printed to the stdout the Monitor was given) to /dev/null."""

    def __enter__(self) -> None:
        self.saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)

    def __exit__(self, *_: object) -> None:
        os.dup2(self.saved, 1)
        os.close(self.saved)


def study(
    objective: Objective, kind: str, seed: int, trials: int | list[dict[str, Any]], pruner: str = "none"
) -> tuple[list[float | None], Any]:
    """Run an ask-and-tell study as tinynets search does (its sampler, its suggest, its pruning through a journal
    and TINYNETS_TRIAL): each trial's value (None: pruned), for `trials` trials (a count, or the params of each
    trial, in order)."""
    config = SearchConfig.model_validate({"space": SPACE, "sampler": kind, "seed": seed, "pruner": pruner})
    values: list[float | None] = []
    with tempfile.TemporaryDirectory() as folder:
        spec, name = f"journal:{folder}/study.journal", f"{SAMPLED}-{kind}-{seed}-{pruner}"
        (Path(folder) / "storage").write_text(spec)
        made = optuna.create_study(study_name=name, storage=study_storage(spec), sampler=sampler(config, 1))
        for given in trials if isinstance(trials, list) else []:
            made.enqueue_trial(given)
        for _ in range(len(trials) if isinstance(trials, list) else trials):
            trial = made.ask()
            chosen = {path: suggest(trial, path, distribution) for path, distribution in config.space.items()}
            pruning = {"storage_file": f"{folder}/storage", "study": name, "trial": trial.number, "pruner": pruner}
            pruning |= {"dataset": SAMPLED, "metric": "loss", "every": max(1, SAMPLER_EPOCHS // REPORTS)}
            os.environ[ENVIRONMENT] = json.dumps(pruning)
            try:
                value = objective(chosen)
            finally:
                del os.environ[ENVIRONMENT]
            states = optuna.trial.TrialState
            state = states.PRUNED if value is None else states.FAIL if math.isinf(value) else states.COMPLETE
            made.tell(trial, value if state == states.COMPLETE else None, state=state)
            values.append(value)
        return values, [trial.params for trial in made.trials]


def best_so_far(objective: Objective, kind: str) -> np.ndarray:
    """(SEEDS, the largest budget): for each search seed, the best valid loss after each trial."""
    curves = []
    for seed in range(SEEDS):
        values, _ = study(objective, kind, seed, max(BUDGETS))
        curves.append(np.minimum.accumulate(np.array(values, dtype=float)))
    return np.array(curves)


def medians(curves: dict[str, np.ndarray], budget: int) -> str:
    """TPE's and random search's median best valid loss after `budget` trials."""
    return " / ".join(f"{np.median(curves[kind][:, budget - 1]):.4f}" for kind in ("tpe", "random"))


def draw(curves: dict[str, np.ndarray]) -> None:
    """Both samplers' median best-so-far curves, with their interquartile bands, to FIGURE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4))
    trials = np.arange(1, max(BUDGETS) + 1)
    for kind, color in (("tpe", "tab:blue"), ("random", "tab:orange")):
        low, middle, high = np.percentile(curves[kind], [25, 50, 75], axis=0)
        axes.plot(trials, middle, color=color, label=f"{kind} (median of {SEEDS} seeds)")
        axes.fill_between(trials, low, high, color=color, alpha=0.2)
    start = SearchConfig.model_validate({"space": SPACE}).n_startup_trials  # TPE's random start: the same draws
    lowest = min(curves[kind].min() for kind in curves)
    highest = max(np.percentile(curves[kind][:, start], 75) for kind in curves)
    axes.axvline(start, color="grey", linewidth=0.8, linestyle=":")
    axes.annotate(f" TPE from trial {start + 1} (before it: the same random draws)", (start, lowest), fontsize=8)
    axes.set_ylim(lowest - 0.08 * (highest - lowest), highest + 0.3 * (highest - lowest))
    axes.set(xlabel="trials", ylabel="best validation loss so far", xscale="log", xticks=[1, 4, 16, 32, 64])
    axes.set_xticklabels(["1", "4", "16", "32", "64"])
    axes.set_title("tinynets search on overlapping circles: lr, hidden units, momentum, weight decay")
    axes.title.set_fontsize(9)
    axes.legend()
    figure.tight_layout()
    figure.savefig(FIGURE, dpi=100)
    plt.close(figure)


def pruning(objective: Objective) -> dict[str, Any]:
    """A 24-trial TPE search without a pruner, then the same 24 trials (enqueued, in order) with the median
    pruner: the epochs each trained, the trials pruned, and whether the unpruned search's best was pruned."""
    objective.epochs = 0
    plain, chosen = study(objective, "tpe", 0, PRUNING_TRIALS)
    full = objective.epochs
    objective.epochs = 0
    watched, _ = study(objective, "tpe", 0, chosen, pruner="median")
    best = int(np.nanargmin(np.array(plain, dtype=float)))
    kept = [value for value in watched if value is not None]
    return {
        "epochs": (full, objective.epochs),
        "pruned": sum(value is None for value in watched),
        "best": (plain[best], min(kept)),
        "best pruned": watched[best] is None,
    }


def measure() -> list[tuple[str, str]]:
    """The search figures, as the bench's rows."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        clone = project(Path(folder))
        costs = trial_costs(clone)
        objective = Objective(clone)
        curves = {kind: best_so_far(objective, kind) for kind in ("tpe", "random")}
        pruned = pruning(objective)
    draw(curves)
    full, watched = pruned["epochs"]
    without, with_pruning = pruned["best"]
    choice = "yes: the best trial was pruned" if pruned["best pruned"] else "no: the best trial ran to its end"
    return [
        (
            "search: a trial / a plain dvc exp run -S of like params (iris, 20,000 epochs; medians)",
            f"{costs['trial']:.1f} s / {costs['plain']:.1f} s ({costs['trial'] / costs['plain']:.2f}x); "
            f"the search's wall beyond its trials (start-up, summary) {costs['start-up']:.1f} s",
        ),
        (
            f"search: trials per minute, 2 workers / 1 worker (4 trials each, {cores()} cores)",
            f"{4 * 60 / costs['two workers']:.1f} / {4 * 60 / costs['one worker']:.1f} "
            f"({costs['one worker'] / costs['two workers']:.2f}x)",
        ),
        (
            f"search: best valid loss after {', '.join(map(str, BUDGETS))} trials, median of {SEEDS} search seeds: "
            f"TPE / random (overlapping circles, lr, hidden units, momentum, weight decay; {SAMPLER_EPOCHS} epochs; "
            f"figure: bench/{FIGURE.name})",
            "; ".join(f"{budget}: {medians(curves, budget)}" for budget in BUDGETS),
        ),
        (
            f"search: epochs trained by {PRUNING_TRIALS} TPE trials (overlapping circles), alone / again with the "
            "median pruner",
            f"{full:,} / {watched:,} ({pruned['pruned']} pruned): {1 - watched / full:.0%} saved",
        ),
        (
            "search: best valid loss without / with pruning (did pruning change the choice?)",
            f"{without:.4f} / {with_pruning:.4f} ({choice})",
        ),
    ]


if __name__ == "__main__":
    for name, value in measure():
        print(f"| {name} | {value} |")

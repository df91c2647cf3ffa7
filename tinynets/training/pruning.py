"""A search trial's pruning: when `tinynets search` runs the train stage for a trial, it names the trial in the
TINYNETS_TRIAL environment variable; the first seed's run then reports the search's validation metric (the
loss from its history, another metric scored on the validation outputs) to the trial about twenty times, at
epochs alike for every trial, and stops when the study's pruner says the trial is hopeless. Reporting changes
nothing else, so a trial that runs to its end writes what it would have written unwatched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinynets.common.errors import TrainingError

ENVIRONMENT = "TINYNETS_TRIAL"  # {"storage_file": a file naming the storage, "study", "trial", "metric", "every", ...}
REPORTS = 20  # reports over a trial's epochs: enough for the pruner, rare enough to cost nothing
GRACE = 60  # seconds a running trial may be silent before it is failed; it says it lives every sixth of that
WARMUP = 0.1  # the share of reports before any trial is pruned: an early value says little


class Pruned(TrainingError):
    """The study's pruner stopped the trial: its validation loss lagged the other trials' at the same epoch."""


def pruner(name: str, every: int) -> Any:
    """Optuna's pruner by name: median (the median of the trials' values at an epoch), halving (successive
    halving), or none. Neither of the first two prunes before its warm-up: a tenth of the reports (`every`
    epochs apart)."""
    import optuna

    warmup = every * max(1, round(REPORTS * WARMUP))
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=warmup)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup)
    return optuna.pruners.NopPruner()


def study_storage(storage: str, grace: int = GRACE) -> Any:
    """Optuna's storage from its spec: `journal:PATH` a journal file; else a database URL, with heartbeats, so
    that a trial whose machine died is failed after `grace` seconds of silence and its point asked again."""
    if storage.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(storage.removeprefix("journal:")))
    import warnings

    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeats: experimental since Optuna 2.9, still kept
        retry = RetryHeartbeatStaleTrialCallback()
        return RDBStorage(
            storage, heartbeat_interval=max(1, grace // 6), grace_period=grace, heartbeat_stale_trial_callback=retry
        )


class Reporter:
    """Called after each epoch of the watched run: every `every` epochs (the search sets it, alike for all its
    trials), reports the search's validation metric, in its own sign, and raises Pruned when told."""

    def __init__(self, name: str, metric: str, trial: Any, every: int, measure: Callable[[Any], float | None]) -> None:
        self.name, self.metric, self.trial, self.every, self.measure = name, metric, trial, every, measure

    def __call__(self, run: Any) -> None:
        if run.epoch % self.every:
            return
        value = self.measure(run)
        if value is None:  # a metric this dataset does not write: the search says so after the trial
            return
        self.trial.report(value, run.epoch)
        if self.trial.should_prune():
            said = f"validation {self.metric} {value:.4g} behind the others'"
            raise Pruned(f"{self.name}: pruned at epoch {run.epoch} ({said})")


def measure(metric: str, loss: str, x_valid: Any, y_valid: Any, info: Path) -> Callable[[Any], float | None]:
    """How a run's validation `metric` is read now: the loss from its history, any other metric scored as the
    evaluate stage scores it (in the target's units), from the model's validation outputs."""
    if metric == "loss":
        return lambda run: float(run.history[run.epoch - 1, run.watched_column])
    from tinynets.common import contracts
    from tinynets.evaluation.scoring import headline_metrics, own_terms
    from tinynets.inference import eval_outputs

    described = contracts.read(contracts.FEATURE_INFO, info)
    classes, y_true = described.get("classes"), own_terms(y_valid, described)

    def scored(run: Any) -> float | None:
        outputs = eval_outputs(run.model, x_valid).float().cpu().numpy()
        value = headline_metrics(y_true, outputs, loss, classes, described).get(metric)
        return None if value is None else float(value)

    return scored


def reporter(name: str, loss: str, x_valid: Any, y_valid: Any, info: Path) -> Reporter | None:
    """The trial this process trains for, from TINYNETS_TRIAL (its storage read from the file it names); None
    outside a search."""
    spec = os.environ.get(ENVIRONMENT)
    if not spec:
        return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    named = json.loads(spec)
    if named["dataset"] != name:  # another dataset's train stage, rerun inside the trial's experiment
        return None
    storage = study_storage(Path(named["storage_file"]).read_text().strip())
    study = optuna.load_study(
        study_name=named["study"], storage=storage, pruner=pruner(named["pruner"], named["every"])
    )
    # Optuna's ask-and-tell gives a Trial to the process that asked; another process rebuilds it from its id
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, named["trial"])
    metric = named["metric"]
    return Reporter(
        name, metric, optuna.trial.Trial(study, trial_id), named["every"], measure(metric, loss, x_valid, y_valid, info)
    )

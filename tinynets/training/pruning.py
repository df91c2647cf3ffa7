"""A search trial's pruning: when `tinynets search` runs the train stage for a trial, it names the trial in the
TINYNETS_TRIAL environment variable; the first seed's run then reports its validation loss to the trial about
twenty times, and stops when the study's pruner says the trial is hopeless. Reporting reads the loss history
and changes nothing else, so a trial that runs to its end writes what it would have written unwatched.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tinynets.common.errors import TrainingError

ENVIRONMENT = "TINYNETS_TRIAL"  # {"storage": a journal file or URL, "study": its name, "trial": its number, ...}
REPORTS = 20  # reports over a trial's epochs: enough for the pruner, rare enough to cost nothing
WARMUP = 0.1  # the share of epochs before any trial is pruned: an early loss says little


class Pruned(TrainingError):
    """The study's pruner stopped the trial: its validation loss lagged the other trials' at the same epoch."""


def pruner(name: str, epochs: int) -> Any:
    """Optuna's pruner by name: median (the median of the trials' losses at an epoch), halving (successive
    halving), or none."""
    import optuna

    warmup = max(1, int(epochs * WARMUP))
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=warmup)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup)
    return optuna.pruners.NopPruner()


def study_storage(storage: str) -> Any:
    """Optuna's storage from its spec: `journal:PATH` (a journal file), else a database URL."""
    if storage.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(storage.removeprefix("journal:")))
    return storage


class Reporter:
    """Called after each epoch of the watched run: reports the watched loss now and then, raises Pruned when told."""

    def __init__(self, name: str, epochs: int, trial: Any, sign: float = 1.0) -> None:
        self.name, self.trial, self.sign = name, trial, sign
        self.every = max(1, epochs // REPORTS)

    def __call__(self, run: Any) -> None:
        if run.epoch % self.every:
            return
        loss = float(run.history[run.epoch - 1, run.watched])
        self.trial.report(self.sign * loss, run.epoch)  # negated for a study that maximizes (accuracy, say)
        if self.trial.should_prune():
            raise Pruned(f"{self.name}: pruned at epoch {run.epoch} (validation loss {loss:.4g} behind the others')")


def reporter(name: str, epochs: int) -> Reporter | None:
    """The trial this process trains for, from TINYNETS_TRIAL; None outside a search."""
    spec = os.environ.get(ENVIRONMENT)
    if not spec:
        return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    named = json.loads(spec)
    if named["dataset"] != name:  # another dataset's train stage, rerun inside the trial's experiment
        return None
    storage = study_storage(named["storage"])
    study = optuna.load_study(study_name=named["study"], storage=storage, pruner=pruner(named["pruner"], epochs))
    # Optuna's ask-and-tell gives a Trial to the process that asked; another process rebuilds it from its id
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, named["trial"])
    sign = -1.0 if named["direction"] == "maximize" else 1.0
    return Reporter(name, epochs, optuna.trial.Trial(study, trial_id), sign)

"""Resumable training state: a torch.save file (it holds an optimizer and a generator), written atomically
and read back with weights_only=True."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch

from tinynets.common.errors import DataError, TrainingError
from tinynets.common.files import atomic_path
from tinynets.training.loop import Run


def load_state(path: Path) -> dict[str, Any]:
    """Read a training-state file; anything but tensors and plain data (a crafted pickle, say) is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        reason = str(error).splitlines()[0][:200]
        raise DataError(f"{path}: refused to load, not a plain tensor checkpoint ({reason})") from None


def code_version() -> str:
    """A digest of the code this run executes: the torch release, the script, every tinynets module loaded."""
    ours = {name: module for name, module in sys.modules.items() if name == "__main__" or name.startswith("tinynets")}
    digest = hashlib.sha256(torch.__version__.encode())
    for name, module in sorted(ours.items()):
        if getattr(module, "__file__", None):  # keyed by module name: the same code anywhere on disk
            digest.update(name.encode() + b"\0" + Path(module.__file__).read_bytes())
    return digest.hexdigest()


def fingerprint(*facts: Any, files: tuple[Path, ...] = ()) -> str:
    """A digest of everything a run's result depends on: plain facts (JSON-able) and the bytes of files."""
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode())
    for path in files:
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


PERIOD_VARIABLE = "TINYNETS_CHECKPOINT_SECONDS"  # the least time between saves (default 1; 0: every epoch)
# a checkpoint's file name: the process stops itself (SIGSTOP) right after it first writes it, so that a test can
# interrupt a run at a known point however fast the machine trains
PAUSE_VARIABLE = "TINYNETS_PAUSE_AFTER_CHECKPOINT"


def save_period() -> float:
    """The seconds between saves, from TINYNETS_CHECKPOINT_SECONDS (1 when unset); a TrainingError names a value
    that is not a number of seconds."""
    value = os.environ.get(PERIOD_VARIABLE, "1")
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0 or math.isinf(seconds):
        raise TrainingError(f"{PERIOD_VARIABLE}={value!r}: give the least seconds between checkpoints (0 or more)")
    return seconds


class Checkpoint:
    """A run's state saved after an epoch (at most once a save_period()), restored by a rerun of the same run.

    The fingerprint ties the file to the settings, seed, device, data, code and torch release it was made
    with; a checkpoint of any other run is ignored and later overwritten.
    """

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path, self.fingerprint = path, fingerprint
        self.every, self.last_saved = save_period(), time.monotonic()
        self.pause = os.environ.get(PAUSE_VARIABLE) == path.name

    def restore(self, run: Run) -> int:
        """Load the saved state into `run` if it belongs to the same run; return the epochs already done."""
        if not self.path.exists():
            return 0
        state = load_state(self.path)
        if state.get("fingerprint") != self.fingerprint:
            return 0
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.generator.set_state(state["generator"])
        run.history[: state["epoch"]] = state["history"].to(run.history.device)
        run.lrs, run.epoch, run.stopped = list(state["lrs"]), state["epoch"], state["stopped"]
        for key, records in state["records"].items():
            run.records[key].copy_(records)
        torch.set_rng_state(state["torch_rng"])  # what dropout draws from
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda_rng"], run.history.device)
        if run.schedule:
            run.schedule.load_state_dict(state["schedule"])
        if run.stopper:
            run.stopper.load_state_dict(state["stopper"])
        return run.epoch

    def __call__(self, run: Run) -> None:
        """Save the state if a save_period() has passed since the last save (and epochs remain)."""
        now = time.monotonic()
        if now - self.last_saved < self.every or run.epoch == len(run.history) or run.stopped:
            return
        self.save(run)
        self.last_saved = now
        if self.pause:  # after an epoch's save, inside the stage's handling of signals (not a seed's last save)
            self.pause = False
            os.kill(os.getpid(), signal.SIGSTOP)

    def save(self, run: Run) -> None:
        """Save the state now (at a run's end too: repeats resume past the seeds already trained)."""
        state = {
            "fingerprint": self.fingerprint,
            "epoch": run.epoch,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "generator": run.generator.get_state(),
            "history": run.history[: run.epoch].cpu(),
            "lrs": run.lrs,
            "stopped": run.stopped,
            "records": {key: records.cpu() for key, records in run.records.items()},
            "schedule": run.schedule.state_dict() if run.schedule else None,
            "stopper": run.stopper.state_dict() if run.stopper else None,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(run.history.device) if run.history.is_cuda else None,
        }
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)

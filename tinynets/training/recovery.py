"""When training stops before its end: say how to resume it, or how to bring the previous results back.

DVC removed the stage's outputs before training started; they still lie in DVC's cache, and dvc.lock
still names them until a run succeeds, so `dvc checkout train@<dataset>` restores them.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import yaml

from tinynets.common import paths
from tinynets.common.errors import TrainingError


class Stopped(Exception):
    """A signal asked the process to stop (SIGTERM: what `kill` and job schedulers send)."""


def previous_results_command(stage: str, lock: Path = paths.LOCK_FILE) -> str | None:
    """`dvc checkout STAGE` when dvc.lock records that stage's outputs from an earlier run, else None."""
    if not lock.exists():
        return None
    recorded = yaml.load(lock.read_text(), Loader=yaml.CSafeLoader) or {}
    return f"dvc checkout {stage}" if recorded.get("stages", {}).get(stage, {}).get("outs") else None


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


@contextmanager
def explained_stops(name: str, checkpoint: Path) -> Iterator[None]:
    """Turn SIGTERM and Ctrl-C into one error line that names what to run next; add the same to divergence."""
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    except (Stopped, KeyboardInterrupt) as stop:
        how = str(stop) if isinstance(stop, Stopped) else "SIGINT"
        resume = "`dvc repro` resumes from its checkpoint" if checkpoint.exists() else "`dvc repro` starts it again"
        raise TrainingError(f"{name}: training stopped by {how}; {resume}{_restore_hint(name)}") from None
    except TrainingError as error:
        raise TrainingError(f"{error}{_restore_hint(name)}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _restore_hint(name: str) -> str:
    restore = previous_results_command(f"train@{name}")
    return f"; `{restore}` brings back the previous results" if restore else ""

"""What recording the learning figures costs each dataset: the train stage's own run of every dataset in `run`,
with its Recorder and without, timed in turn in one process (the recording, the frames and what the finished
net learned included)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from tinynets.common import paths, settings
from tinynets.training.recording import Recorder, learned
from tinynets.training.runner import Job, train_once
from tinynets.training.tensors import ONE_PROCESS


@contextmanager
def quiet() -> Iterator[None]:
    """Standard output to /dev/null: training's progress lines go to the stdout the Monitor was given."""
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def job(name: str) -> Job:
    """Dataset `name`'s training as the train stage sets it up, on the CPU, in one process."""
    where = paths.of(name)
    return Job.of(where, settings.read(where.train_settings), torch.device("cpu"), ONE_PROCESS)


@contextmanager
def clocked(spent: list[float]) -> Iterator[None]:
    """Add the seconds spent inside Recorder calls to `spent[0]`, while the block runs (machine noise between two
    trainings is larger than the recording's cost, so its own time is measured too)."""
    call = Recorder.__call__

    def timed_call(recorder: Recorder, run: object) -> None:
        started = time.perf_counter()
        call(recorder, run)
        spent[0] += time.perf_counter() - started

    Recorder.__call__ = timed_call
    try:
        yield
    finally:
        Recorder.__call__ = call


def seconds(work: Job, record: bool) -> tuple[float, float]:
    """One training's seconds, and those spent recording (with the frames and what it learned, at the end)."""
    spent, checkpoint = [0.0], work.where.checkpoint(0)
    checkpoint.unlink(missing_ok=True)  # a checkpoint of the same run would be resumed, not trained
    started = time.perf_counter()
    with quiet(), clocked(spent):
        finished = train_once(work, 0, record=record)
        if record:
            ended = time.perf_counter()
            finished.recorder.dynamics_table(finished.run)
            finished.recorder.frames(finished.run, work.train.loss) | learned(
                finished.model, finished.data, work.model.layers, work.images
            )
            spent[0] += time.perf_counter() - ended
    took = time.perf_counter() - started
    checkpoint.unlink(missing_ok=True)
    return took, spent[0]


def measure(clone: Path, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Per dataset of the clone's run, medians: training without recording, with it, and the recording's own time."""
    previous = os.getcwd()
    os.chdir(clone)
    try:
        costs = {}
        for name in settings.read(paths.RUN_SETTINGS).run:
            work = job(name)
            runs = [(seconds(work, False)[0], *seconds(work, True)) for _ in range(repeats)]
            costs[name] = tuple(statistics.median(run[index] for run in runs) for index in range(3))
        return costs
    finally:
        os.chdir(previous)

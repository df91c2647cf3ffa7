"""One training run from start to end: the model built for its data, resumed from a checkpoint if one fits,
trained with progress shown, stopped with a clear line when it cannot finish."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tinynets.common.facts import is_classifier, is_plane
from tinynets.common.settings import plain
from tinynets.devices import device_name
from tinynets.models import build_model, parameter_count
from tinynets.training.checkpoints import Checkpoint, code_version, fingerprint
from tinynets.training.loop import Run, fit, start_run
from tinynets.training.progress import Monitor
from tinynets.training.recording import Recorder
from tinynets.training.recovery import explained_stops
from tinynets.training.steps import make_step
from tinynets.training.tensors import Shard, Tensors, batch_rows, to_tensors

if TYPE_CHECKING:
    from tinynets.params import ModelConfig, TrainConfig


@dataclass(frozen=True)
class Job:
    """What every seed of one dataset's training shares."""

    name: str
    train: TrainConfig
    model: ModelConfig  # with every size resolved from the data
    input_shape: tuple[int, ...]  # one sample's
    outputs: int
    device: torch.device
    shard: Shard
    features_file: Path


@dataclass
class Trained:
    """A finished run: the model (the best epoch's weights with early stopping), its run and data, its time."""

    model: nn.Module
    run: Run
    data: Tensors
    seconds: float
    resumed_at: int
    recorder: Recorder | None = None  # the first seed's (rank 0's alone has recorded)


def train_once(
    job: Job, arrays: dict[str, np.ndarray], seed: int, checkpoint_path: Path, label: str, record: bool = False
) -> Trained:
    """Train one model with `seed` (weights, shuffling); rank 0 shows progress, checkpoints and, with `record`,
    records what the learning figures draw."""
    config, shard = job.train, job.shard
    torch.manual_seed(seed)
    model = build_model(job.model, job.input_shape, job.outputs).to(job.device)
    data = to_tensors(arrays, config.loss, job.device)
    run = start_run(model, config, seed, validating=data.x_valid is not None)
    recorder = (
        Recorder(model, config.epochs, data, is_classifier(config.loss) and is_plane(data.x_train)) if record else None
    )
    if recorder:  # on every rank, as each restores the one checkpoint; rank 0 alone records
        run.records = recorder.blank(job.outputs, job.device)
    facts = (seed, plain(job.model), plain(config), str(job.device), shard.world, code_version())
    checkpoint = Checkpoint(checkpoint_path, fingerprint(*facts, files=(job.features_file,)))
    resumed_at = checkpoint.restore(run)
    finished = run.stopped or resumed_at >= config.epochs
    monitor = Monitor(job.name, config.epochs, config.lr, start=resumed_at, label=label, finished=finished)

    def on_epoch(run: Run) -> None:
        if shard.rank == 0:
            if recorder:
                recorder(run)
            monitor(run)
            checkpoint(run)

    started = time.perf_counter()
    with explained_stops(job.name, checkpoint.path):
        step = make_step(run, job.model, config.loss, shard, batch_rows(config.batch_size, len(data.x_train)))
        fit(run, data, config, step, on_epoch, shard)
    seconds = time.perf_counter() - started
    if config.repeats > 1 and shard.rank == 0:
        checkpoint.save(run)  # a stop during a later seed resumes past this one
    return Trained(model, run, data, seconds, resumed_at, recorder)


def training_facts(job: Job, runs: list[Trained], seeds: list[int]) -> dict[str, Any]:
    """What the metrics report of how the first seed's model was trained (and which seeds, with repeats)."""
    first, config = runs[0], job.train
    facts: dict[str, Any] = {
        "loss": config.loss,
        "epochs": config.epochs,
        "device": device_name(job.device),
        "parameters": parameter_count(first.model),
    }
    if first.run.stopper:
        facts |= {"best_epoch": first.run.stopper.best_epoch, "stopped_epoch": first.run.epoch}
    if len(seeds) > 1:
        facts["seeds"] = seeds
    return facts


def timings(job: Job, runs: list[Trained]) -> dict[str, Any]:
    """How long training took here (runs/<dataset>.json: they differ from run to run, so DVC does not track them)."""
    seconds = sum(trained.seconds for trained in runs)
    epochs = max(sum(trained.run.epoch - trained.resumed_at for trained in runs), 1)
    return {
        "device": device_name(job.device),
        "processes": job.shard.world,
        "resumed_at_epoch": runs[0].resumed_at,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / epochs, 6),
        "samples_per_second": round(epochs * len(runs[0].data.x_train) / max(seconds, 1e-9)),
    }

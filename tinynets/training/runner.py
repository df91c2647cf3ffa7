"""One training run from start to end: the model built for its data, resumed from a checkpoint if one fits,
trained with progress shown, stopped with a clear line when it cannot finish."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tinynets.models import build_model
from tinynets.params import DatasetConfig, ModelConfig
from tinynets.training.checkpoints import Checkpoint, fingerprint
from tinynets.training.loop import Run, Shard, Tensors, fit, hold_out, make_step, start_run, to_tensors
from tinynets.training.progress import Monitor
from tinynets.training.recovery import explained_stops


@dataclass(frozen=True)
class Job:
    """What every seed of one dataset's training shares."""

    name: str
    config: DatasetConfig
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


def train_once(job: Job, arrays: dict[str, np.ndarray], seed: int, checkpoint_path: Path, label: str) -> Trained:
    """Train one model with `seed` (weights, validation split, shuffling); rank 0 shows progress and checkpoints."""
    config, shard = job.config, job.shard
    torch.manual_seed(seed)
    model = build_model(job.model, job.input_shape, job.outputs).to(job.device)
    if config.train.valid_size:
        arrays = hold_out(arrays, config.train.valid_size, seed, stratify=config.is_classifier)
    data = to_tensors(arrays, config.train.loss, job.device)
    run = start_run(model, config.train, seed, validating=data.x_valid is not None)
    facts = (seed, config.model_dump(), str(job.device), shard.world)
    checkpoint = Checkpoint(checkpoint_path, fingerprint(*facts, files=(job.features_file,)))
    resumed_at = checkpoint.restore(run)
    monitor = Monitor(job.name, config.train.epochs, config.train.lr, start=resumed_at, label=label)

    def on_epoch(run: Run) -> None:
        if shard.rank == 0:
            monitor(run)
            checkpoint(run)

    started = time.perf_counter()
    with explained_stops(job.name, checkpoint.path):
        fit(run, data, config.train, make_step(run, job.model, config.train.loss, shard), on_epoch, shard)
    seconds = time.perf_counter() - started
    if config.train.repeats > 1 and shard.rank == 0:
        checkpoint.save(run)  # a stop during a later seed resumes past this one
    return Trained(model, run, data, seconds, resumed_at)

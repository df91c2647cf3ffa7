"""Training a dataset's net once per seed: each run from start to end, the model built for its data, resumed
from a checkpoint if one fits, trained with progress shown, stopped with a clear line when it cannot finish."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from tinynets.common.facts import DataFacts, is_classifier, is_plane, outputs_needed
from tinynets.common.files import read_arrays
from tinynets.common.paths import DatasetFiles
from tinynets.common.settings import Settings, plain
from tinynets.models import build_model
from tinynets.shapes import resolved_model
from tinynets.training.checkpoints import Checkpoint, code_version, fingerprint
from tinynets.training.loop import Run, fit, start_run
from tinynets.training.progress import Monitor
from tinynets.training.pruning import reporter
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
    output_count: int  # the net's outputs: classes, or targets
    device: torch.device
    shard: Shard
    where: DatasetFiles  # the dataset's files: where it reads and writes
    arrays: dict[str, np.ndarray]  # the features file's
    seeds: list[int]  # seed, seed + 1, ...: one run each (train.repeats)
    images: bool  # its inputs are images (facts.input_kind): what the first layer's figure draws

    @classmethod
    def of(cls, where: DatasetFiles, config: Settings, device: torch.device, shard: Shard) -> Job:
        """A dataset's job from its train settings and features, on this process's device and shard."""
        name, loss, arrays = where.name, config.train.loss, read_arrays(where.features)
        facts = DataFacts.of(arrays["x_train"], arrays["y_train"])
        outputs = outputs_needed(name, loss, facts)
        # validate checks the model against the data before DVC removes anything; `dvc repro -s` skips validate.
        model = resolved_model(name, config.model, loss, facts)
        seeds = [config.seed + repeat for repeat in range(config.train.repeats)]
        images = config.inputs == "images"
        return cls(name, config.train, model, facts.input_shape, outputs, device, shard, where, arrays, seeds, images)


@dataclass
class FinishedRun:
    """A finished run: the model (the best epoch's weights with early stopping), its run and data, its time."""

    model: nn.Module
    run: Run
    data: Tensors
    seconds: float
    resumed_at: int
    recorder: Recorder | None = None  # the first seed's (rank 0's alone has recorded)


def train_seeds(job: Job) -> list[FinishedRun]:
    """One run per seed, each resumable from its own checkpoint; the first seed's records what it learns."""
    return [train_once(job, repeat) for repeat in range(len(job.seeds))]


def train_once(job: Job, repeat: int, record: bool | None = None) -> FinishedRun:
    """Train one model with the job's `repeat`-th seed (weights, shuffling); rank 0 shows progress, checkpoints
    and, with `record` (the first seed's, unless told), records what the learning figures draw."""
    seed, record = job.seeds[repeat], repeat == 0 if record is None else record
    label = f"{job.name} (seed {seed})" if repeat else job.name
    config, shard = job.train, job.shard
    torch.manual_seed(seed)
    model = build_model(job.model, job.input_shape, job.output_count).to(job.device)
    data = to_tensors(job.arrays, config.loss, job.device)
    run = start_run(model, config, seed, validating=data.x_valid is not None)
    recorder = (
        Recorder(model, config.epochs, data, is_classifier(config.loss) and is_plane(data.x_train)) if record else None
    )
    if recorder:  # on every rank, as each restores the one checkpoint; rank 0 alone records
        run.records = recorder.blank(job.output_count, job.device)
    facts = (seed, plain(job.model), plain(config), str(job.device), shard.world, code_version())
    checkpoint = Checkpoint(job.where.checkpoint(repeat), fingerprint(*facts, files=(job.where.features,)))
    resumed_at = checkpoint.restore(run)
    finished = run.stopped or resumed_at >= config.epochs
    monitor = Monitor(job.name, config.epochs, config.lr, start=resumed_at, label=label, finished=finished)

    report_trial = None
    if record and shard.rank == 0:  # a search trial's
        report_trial = reporter(job.name, config.loss, data.x_valid, job.arrays.get("y_valid"), job.where.feature_info)

    def on_epoch(run: Run) -> None:
        if shard.rank == 0:
            if recorder:
                recorder(run)
            monitor(run)
            checkpoint(run)
            if report_trial:
                report_trial(run)

    started = time.perf_counter()
    with explained_stops(job.name, checkpoint.path):
        step = make_step(
            run.model, run.optimizer, job.model, config.loss, shard, batch_rows(config.batch_size, len(data.x_train))
        )
        fit(run, data, config, step, on_epoch, shard)
    seconds = time.perf_counter() - started
    if config.repeats > 1 and shard.rank == 0:
        checkpoint.save(run)  # a stop during a later seed resumes past this one
    return FinishedRun(model, run, data, seconds, resumed_at, recorder)

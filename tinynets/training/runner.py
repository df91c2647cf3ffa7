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
from tinynets.inference import eval_outputs
from tinynets.models import build_model
from tinynets.shapes import resolved_model
from tinynets.splits import fold_numbers
from tinynets.training.checkpoints import Checkpoint, code_version, fingerprint
from tinynets.training.folds import HeldOut, fold_arrays
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
    folds: int | None = None  # data.split.folds: each seed cross-validated on that many folds, then refit
    windows: bool = False  # its rows are a series' windows, in time order: its folds are rolling-origin ones
    slots: range = range(1)  # every run's checkpoint number: a seed's, or with folds its folds' and its refit's

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
        shapes = facts.input_shape, outputs
        windows, slots = config.inputs == "windows", range(len(seeds) * ((config.folds or 0) + 1))
        places = device, shard, where, arrays, seeds, images
        return cls(name, config.train, model, *shapes, *places, config.folds, windows, slots)


@dataclass
class FinishedRun:
    """A finished run: the model (the best epoch's weights with early stopping), its run and data, its time."""

    model: nn.Module
    run: Run
    data: Tensors
    seconds: float
    resumed_at: int
    recorder: Recorder | None = None  # the first seed's (rank 0's alone has recorded)
    held_out: HeldOut | None = None  # with folds: the seed's cross-validation, before this refit on every row
    folds_work: tuple[float, int] = (0.0, 0)  # with folds: the seconds and epochs its folds' runs took here


def train_seeds(job: Job) -> list[FinishedRun]:
    """One run per seed (with folds, its folds' runs and its refit), each resumable from its own checkpoint; the
    first seed's records what it learns."""
    if job.folds:
        return [cross_validate(job, repeat) for repeat in range(len(job.seeds))]
    return [train_once(job, repeat) for repeat in range(len(job.seeds))]


def cross_validate(job: Job, repeat: int) -> FinishedRun:
    """The `repeat`-th seed's folds, each scored on its own rows by a net trained on the other folds' (a series': on
    the windows before its own), then its refit on every train row for the folds' mean best epoch (early stopping
    has no rows left to watch)."""
    seed, folds = job.seeds[repeat], job.folds
    y = job.arrays["y_train"]
    gap = y.shape[1] - 1 if job.windows else None  # horizon - 1: no train window forecasts a validated step
    numbers = fold_numbers(y, folds, seed, job.name, stratify=is_classifier(job.train.loss), gap=gap)
    held, slot, seconds, epochs = HeldOut(numbers), repeat * (folds + 1), 0.0, 0
    for fold in range(folds):
        arrays = fold_arrays(job.arrays, numbers, fold, gap)
        run = train_once(job, repeat, arrays, slot=slot + fold, part=f"fold {fold + 1}/{folds}", record=False)
        best = run.run.stopper.best_epoch if run.run.stopper else run.run.epoch
        held.add(fold, eval_outputs(run.model, run.data.x_valid), best)
        seconds, epochs = seconds + run.seconds, epochs + run.run.epoch - run.resumed_at
    train = plain(job.train) | {"early_stopping": None}
    if job.train.early_stopping:
        train["epochs"] = held.refit_epochs()
    refit = train_once(job, repeat, train=Settings(train), slot=slot + folds, part="refit on every train row")
    refit.held_out, refit.folds_work = held, (seconds, epochs)
    return refit


def train_once(
    job: Job,
    repeat: int,
    arrays: dict[str, np.ndarray] | None = None,
    *,
    train: Settings | None = None,
    slot: int | None = None,
    part: str = "",
    record: bool | None = None,
) -> FinishedRun:
    """Train one model with the job's `repeat`-th seed (weights, shuffling) on `arrays` (the job's, unless told)
    as `train` says (the job's, unless told); rank 0 shows progress, checkpoints (to checkpoint `slot`, the seed's
    unless told) and, with `record` (the first seed's, unless told), records what the learning figures draw; the
    first run that validates on the first seed reports to a search's trial. `part` names a fold or refit."""
    seed, record = job.seeds[repeat], repeat == 0 if record is None else record
    named = [*([f"seed {seed}"] if repeat else []), *([part] if part else [])]
    label = f"{job.name} ({', '.join(named)})" if named else job.name
    config, shard, arrays = train or job.train, job.shard, job.arrays if arrays is None else arrays
    torch.manual_seed(seed)
    model = build_model(job.model, job.input_shape, job.output_count).to(job.device)
    data = to_tensors(arrays, config.loss, job.device)
    run = start_run(model, config, seed, validating=data.x_valid is not None)
    recorder = (
        Recorder(model, config.epochs, data, is_classifier(config.loss) and is_plane(data.x_train)) if record else None
    )
    if recorder:  # on every rank, as each restores the one checkpoint; rank 0 alone records
        run.records = recorder.blank(job.output_count, job.device)
    slot = repeat if slot is None else slot
    facts = (seed, plain(job.model), plain(config), str(job.device), shard.world, code_version(), job.folds, slot)
    checkpoint = Checkpoint(job.where.checkpoint(slot), fingerprint(*facts, files=(job.where.features,)))
    resumed_at = checkpoint.restore(run)
    finished = run.stopped or resumed_at >= config.epochs
    monitor = Monitor(job.name, config.epochs, config.lr, start=resumed_at, label=label, finished=finished)

    report_trial = None
    if slot == 0 and shard.rank == 0:  # a search trial's: the first seed's first run (with folds, its first fold)
        report_trial = reporter(job.name, config.loss, data.x_valid, arrays.get("y_valid"), job.where.feature_info)

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
    if len(job.slots) > 1 and shard.rank == 0:
        checkpoint.save(run)  # a stop during a later seed or fold resumes past this one
    return FinishedRun(model, run, data, seconds, resumed_at, recorder)

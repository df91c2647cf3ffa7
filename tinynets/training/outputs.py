"""What the train stage writes once its runs have finished: the first seed's model file, loss history and what it
recorded; every seed's raw outputs; the timings.

The raw outputs are computed here, where torch is loaded, so that evaluate scores them with scikit-learn alone
and never spends two seconds importing torch for a few milliseconds of inference.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from torch import nn

from tinynets.common import files
from tinynets.common.facts import is_classifier, is_plane
from tinynets.common.settings import plain
from tinynets.devices import device_name
from tinynets.inference import eval_outputs
from tinynets.modelfile import save_model
from tinynets.models import parameter_count
from tinynets.training.recording import grid_points, learned
from tinynets.training.runner import FinishedRun, Job
from tinynets.training.steps import TORCH_LOSSES

GRID_STEPS = 200  # decision-region resolution per axis for 2-D inputs


def decision_grid(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The network's outputs over a grid spanning 2-D inputs (with a margin), for the decision-region plot."""
    (axis_x, axis_y), points = grid_points(x, GRID_STEPS)
    grid_x, grid_y = torch.meshgrid(axis_x, axis_y, indexing="xy")
    grid_outputs = eval_outputs(model, points).cpu().numpy()
    return {"grid_x": grid_x.numpy(), "grid_y": grid_y.numpy(), "grid_outputs": grid_outputs}


def network_outputs(runs: list[FinishedRun], loss: str) -> dict[str, np.ndarray]:
    """The first model's test outputs and mean loss (the same for the validation split, if held out; for a 2-D
    classifier its outputs over a grid); with several models (train.repeats), every one's, for the spread the
    evaluate stage reports. With folds, the validation outputs are each seed's held-out ones over every train row,
    with each row's fold (`valid_folds`, seeds x rows)."""
    models, data = [finished.model for finished in runs], runs[0].data
    splits = {"": (data.x_test, data.y_test)}
    if data.x_valid is not None:
        splits["valid_"] = (data.x_valid, data.y_valid)
    arrays = {}
    for prefix, (x, y) in splits.items():
        outputs = [eval_outputs(model, x) for model in models]
        losses = [float(TORCH_LOSSES[loss](output, y)) for output in outputs]
        arrays |= {f"{prefix}outputs": outputs[0].cpu().numpy(), f"{prefix}loss": np.array(losses[0])}
        if len(models) > 1:
            arrays[f"repeat_{prefix}outputs"] = torch.stack(outputs).cpu().numpy()
            arrays[f"repeat_{prefix}losses"] = np.array(losses)
    held = [finished.held_out for finished in runs if finished.held_out]
    if held:
        outputs = [one.outputs.cpu().numpy() for one in held]  # evaluate scores each fold's rows, loss included
        arrays |= {"valid_outputs": outputs[0], "valid_folds": np.stack([one.numbers for one in held])}
        if len(held) > 1:
            arrays["repeat_valid_outputs"] = np.stack(outputs)
    if is_classifier(loss) and is_plane(data.x_test):
        arrays |= decision_grid(models[0], torch.cat([data.x_train, data.x_test]))
    return arrays


def training_facts(job: Job, runs: list[FinishedRun]) -> dict[str, Any]:
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
    if len(job.seeds) > 1 or job.folds:  # the seeds behind each seed's (or fold's) figures
        facts["seeds"] = job.seeds
    if job.folds:
        facts["folds"] = job.folds
        facts["fold_best_epochs"] = [finished.held_out.best_epochs for finished in runs if finished.held_out]
        facts["refit_epochs"] = first.run.epoch
    return facts


def timings(job: Job, runs: list[FinishedRun]) -> dict[str, Any]:
    """How long training took here (runs/<dataset>.json: they differ from run to run, so DVC does not track them)."""
    seconds = sum(finished.seconds + finished.folds_work[0] for finished in runs)
    epochs = max(sum(finished.run.epoch - finished.resumed_at + finished.folds_work[1] for finished in runs), 1)
    return {
        "device": device_name(job.device),
        "processes": job.shard.world,
        "resumed_at_epoch": runs[0].resumed_at,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / epochs, 6),
        "samples_per_second": round(epochs * len(runs[0].data.x_train) / max(seconds, 1e-9)),
    }


def model_facts(job: Job, training: dict[str, Any]) -> dict[str, Any]:
    """What the model file says of itself: its dataset, its declaration, its shapes, how it was trained (`training`)."""
    declared = {"model": plain(job.model), "train": plain(job.train), "seed": job.seeds[0]}
    shapes = {"input_shape": list(job.input_shape), "outputs": job.output_count, "processes": job.shard.world}
    return {"dataset": job.name, **declared, **shapes, **training}


def write_outputs(job: Job, runs: list[FinishedRun]) -> dict[str, Any]:
    """Write the train stage's outputs from its finished runs, remove their checkpoints; return the timings."""
    first, loss, where = runs[0], job.train.loss, job.where
    training = training_facts(job, runs)
    about = model_facts(job, training)
    history = first.run.history[: first.run.epoch].cpu().numpy()
    losses = {
        "epoch": list(range(1, first.run.epoch + 1)),
        **{column: history[:, index].tolist() for index, column in enumerate(first.run.columns)},
        "lr": first.run.lrs,
    }
    dynamics = first.recorder.dynamics_table(first.run)
    learning = first.recorder.frames(first.run, loss) | learned(first.model, first.data, job.model.layers, job.images)
    results = network_outputs(runs, loss)
    took = timings(job, runs)
    save_model(where.model, first.model, **about)
    files.write_tsv(where.loss_history, losses)
    files.write_tsv(where.dynamics, dynamics)
    files.write_arrays(where.learning, **learning)
    files.write_arrays(where.outputs, **results, training=np.array(json.dumps(training, sort_keys=True)))
    files.write_json(where.timings, took)
    for slot in job.slots:
        where.checkpoint(slot).unlink(missing_ok=True)
    return took

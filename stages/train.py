"""Stage train: train the declared model; write its weights, its loss history and its raw test outputs.

With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
The timings go to runs/<dataset>.json, beside the pipeline's outputs: they differ from run to run.
"""

import json
import time

import numpy as np
import torch

from tinynets import artifacts
from tinynets.cli import run_stage
from tinynets.devices import describe
from tinynets.modelfile import save_model
from tinynets.models import build_mlp
from tinynets.params import load_params
from tinynets.training import distributed
from tinynets.training.checkpoints import Checkpoint, fingerprint
from tinynets.training.loop import Monitor, Run, fit, make_step, start_run, to_tensors
from tinynets.training.outputs import network_outputs
from tinynets.training.recovery import explained_stops
from tinynets.validation import DataFacts, check_model_fits


def train(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    if config.train.processes > 1 and not distributed.launched():
        distributed.relaunch(config.train.processes)
    arrays = artifacts.read_arrays(artifacts.features(name))
    # validate checks this before DVC removes anything; `dvc repro -s train@...` skips validate.
    check_model_fits(name, config, DataFacts.of(arrays["x_train"], arrays["y_train"]))
    with distributed.process_group(params.device_for(name)) as (device, shard):
        torch.manual_seed(params.seed)
        model = build_mlp(config.model).to(device)
        data = to_tensors(arrays, config.train.loss, device)
        run = start_run(model, config.train, params.seed)
        facts = (params.seed, config.model_dump(), str(device), shard.world)
        checkpoint = Checkpoint(artifacts.checkpoint(name), fingerprint(*facts, files=(artifacts.features(name),)))
        resumed_at = checkpoint.restore(run)
        monitor = Monitor(name, config.train.epochs, config.train.lr, start=resumed_at)

        def on_epoch(run: Run) -> None:
            if shard.rank == 0:
                monitor(run)
                checkpoint(run)

        started = time.perf_counter()
        with explained_stops(name, checkpoint.path):
            fit(run, data, config.train, make_step(run, config.model, config.train.loss, shard), on_epoch, shard)
        seconds, epochs_here = time.perf_counter() - started, config.train.epochs - resumed_at
    if shard.rank != 0:
        return

    training = {"loss": config.train.loss, "epochs": config.train.epochs, "device": describe(device)}
    declared = {"model": config.model.model_dump(mode="json"), "train": config.train.model_dump(mode="json")}
    model_info = {"dataset": name, **declared, "seed": params.seed, "processes": shard.world}
    save_model(artifacts.model(name), model, **model_info, **training)
    history = run.history.cpu().numpy()
    artifacts.write_loss_tsv(artifacts.loss_history(name), {"train": history[:, 0], "test": history[:, 1]})
    outputs = network_outputs(model, data, config.train.loss, config.is_classifier)
    artifacts.write_arrays(artifacts.outputs(name), **outputs, training=np.array(json.dumps(training, sort_keys=True)))
    timings = {
        "device": describe(device),
        "processes": shard.world,
        "resumed_at_epoch": resumed_at,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / epochs_here, 6),
        "samples_per_second": round(epochs_here * len(arrays["x_train"]) / seconds),
    }
    artifacts.write_json(artifacts.run_figures(name), timings)
    checkpoint.remove()
    print(f"{name}: trained in {seconds:.1f} s ({timings['samples_per_second']:,} samples/s on {timings['device']})")


if __name__ == "__main__":
    run_stage(train)

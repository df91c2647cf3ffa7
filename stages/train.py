"""Stage train: train the declared model (once per seed with train.repeats); write the first seed's weights and
loss history, and every seed's raw test outputs.

With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
The timings go to runs/<dataset>.json, beside the pipeline's outputs: they differ from run to run.
"""

import json

import numpy as np

from tinynets import artifacts
from tinynets.cli import run_stage
from tinynets.devices import describe
from tinynets.modelfile import save_model
from tinynets.models import parameter_count
from tinynets.params import load_params
from tinynets.training import distributed
from tinynets.training.outputs import network_outputs, repeat_outputs
from tinynets.training.runner import Job, train_once
from tinynets.validation import DataFacts, outputs_needed, resolved_model


def train(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    if config.train.processes > 1 and not distributed.launched():
        distributed.relaunch(config.train.processes)
    arrays = artifacts.read_arrays(artifacts.features(name))
    facts = DataFacts.of(arrays["x_train"], arrays["y_train"])
    # validate checks the model against the data before DVC removes anything; `dvc repro -s` skips validate.
    model_config = resolved_model(name, config, facts)
    outputs = outputs_needed(name, config, facts)
    with distributed.process_group(params.device_for(name)) as (device, shard):
        job = Job(name, config, model_config, facts.input_shape, outputs, device, shard, artifacts.features(name))
        seeds = [params.seed + repeat for repeat in range(config.train.repeats)]
        runs = [
            train_once(
                job, arrays, seed, artifacts.checkpoint(name, repeat), f"{name} (seed {seed})" if repeat else name
            )
            for repeat, seed in enumerate(seeds)
        ]
    if shard.rank != 0:
        return

    first = runs[0]
    stopper = first.run.stopper
    training = {
        "loss": config.train.loss,
        "epochs": config.train.epochs,
        "device": describe(device),
        "parameters": parameter_count(first.model),
        **({"best_epoch": stopper.best_epoch, "stopped_epoch": first.run.epoch} if stopper else {}),
        **({"seeds": seeds} if len(seeds) > 1 else {}),
    }
    declared = {"model": model_config.model_dump(mode="json"), "train": config.train.model_dump(mode="json")}
    shapes = {"input_shape": list(facts.input_shape), "outputs": outputs}
    save_model(
        artifacts.model(name),
        first.model,
        dataset=name,
        **declared,
        **shapes,
        seed=params.seed,
        processes=shard.world,
        **training,
    )
    history = first.run.history[: first.run.epoch].cpu().numpy()
    columns = {column: history[:, index] for index, column in enumerate(first.run.columns)}
    artifacts.write_loss_tsv(artifacts.loss_history(name), {**columns, "lr": np.array(first.run.lrs)})
    results = network_outputs(first.model, first.data, config.train.loss, config.is_classifier)
    if len(runs) > 1:
        results |= repeat_outputs([trained.model for trained in runs], first.data, config.train.loss)
    artifacts.write_arrays(artifacts.outputs(name), **results, training=np.array(json.dumps(training, sort_keys=True)))
    seconds = sum(trained.seconds for trained in runs)
    epochs_here = sum(trained.run.epoch - trained.resumed_at for trained in runs)
    timings = {
        "device": describe(device),
        "processes": shard.world,
        "resumed_at_epoch": first.resumed_at,
        "train_seconds": round(seconds, 3),
        "seconds_per_epoch": round(seconds / max(epochs_here, 1), 6),
        "samples_per_second": round(epochs_here * len(first.data.x_train) / max(seconds, 1e-9)),
    }
    artifacts.write_json(artifacts.run_figures(name), timings)
    for repeat in range(len(runs)):
        artifacts.checkpoint(name, repeat).unlink(missing_ok=True)
    print(f"{name}: trained in {seconds:.2f} s ({timings['samples_per_second']:,} samples/s on {timings['device']})")


if __name__ == "__main__":
    run_stage(train)

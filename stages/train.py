"""Stage train: train the declared model (once per seed with train.repeats); write the first seed's weights, loss
history and what it recorded of its learning (plots/dynamics, data/learning), and every seed's raw test (and
validation) outputs for the evaluate stage.

With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
The timings go to runs/<dataset>.json, beside the pipeline's outputs: they differ from run to run.
"""

import json

import numpy as np

from tinynets.common import artifacts, settings
from tinynets.common.facts import DataFacts, is_classifier, outputs_needed
from tinynets.common.stage import run_stage
from tinynets.modelfile import save_model
from tinynets.shapes import resolved_model
from tinynets.training import distributed
from tinynets.training.outputs import network_outputs
from tinynets.training.recording import learned
from tinynets.training.runner import Job, timings, train_once, training_facts


def train(name: str) -> None:
    config = settings.read(artifacts.train_settings(name))
    loss = config.train.loss
    if config.train.processes > 1 and not distributed.launched():
        distributed.relaunch(config.train.processes)
    arrays = artifacts.read_arrays(artifacts.features(name))
    facts = DataFacts.of(arrays["x_train"], arrays["y_train"])
    # validate checks the model against the data before DVC removes anything; `dvc repro -s` skips validate.
    model, outputs = resolved_model(name, config.model, loss, facts), outputs_needed(name, loss, facts)
    seeds = [config.seed + repeat for repeat in range(config.train.repeats)]
    with distributed.process_group(config.device) as (device, shard):
        job = Job(name, config.train, model, facts.input_shape, outputs, device, shard, artifacts.features(name))
        runs = [
            train_once(
                job,
                arrays,
                seed,
                artifacts.checkpoint(name, repeat),
                f"{name} (seed {seed})" if repeat else name,
                record=repeat == 0,
            )
            for repeat, seed in enumerate(seeds)
        ]
    if shard.rank != 0:
        return

    first, trained = runs[0], training_facts(job, runs, seeds)
    declared = {"model": settings.plain(model), "train": settings.plain(config.train)}
    shapes = {"input_shape": list(facts.input_shape), "outputs": outputs}
    about = {"dataset": name, **declared, **shapes, "seed": config.seed, "processes": shard.world, **trained}
    save_model(artifacts.model(name), first.model, **about)
    history = first.run.history[: first.run.epoch].cpu().numpy()
    columns = {column: history[:, index] for index, column in enumerate(first.run.columns)}
    artifacts.write_loss_tsv(artifacts.loss_history(name), {**columns, "lr": np.array(first.run.lrs)})
    recorder = first.recorder
    artifacts.write_tsv(artifacts.dynamics(name), recorder.dynamics_table(first.run))
    learning = recorder.frames(first.run, loss) | learned(
        first.model, first.data, model.layers, config.inputs == "images"
    )
    artifacts.write_arrays(artifacts.learning(name), **learning)
    results = network_outputs([run.model for run in runs], first.data, loss, is_classifier(loss))
    artifacts.write_arrays(artifacts.outputs(name), **results, training=np.array(json.dumps(trained, sort_keys=True)))
    took = timings(job, runs)
    artifacts.write_json(artifacts.run_figures(name), took)
    for repeat in range(len(runs)):
        artifacts.checkpoint(name, repeat).unlink(missing_ok=True)
    speed = f"{took['samples_per_second']:,} samples/s on {took['device']}"
    print(f"{name}: trained in {took['train_seconds']:.2f} s ({speed})")


if __name__ == "__main__":
    run_stage(train)

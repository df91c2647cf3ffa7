"""Stage train: train the declared model (once per seed with train.repeats); write the first seed's weights, loss
history and what it recorded of its learning (plots/dynamics, data/learning), and every seed's raw test (and
validation) outputs for the evaluate stage.

With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
The timings go to runs/<dataset>.json, beside the pipeline's outputs: they differ from run to run.
"""

from tinynets.common import paths, settings
from tinynets.common.stage import run_stage
from tinynets.training import distributed
from tinynets.training.outputs import write_outputs
from tinynets.training.runner import Job, train_seeds


def train(name: str) -> None:
    where = paths.of(name)
    config = settings.read(where.train_settings)
    if config.train.processes > 1 and not distributed.launched():
        distributed.relaunch(config.train.processes)
    with distributed.process_group(config.device) as (device, shard):
        job = Job.of(where, config, device, shard)
        runs = train_seeds(job)
    if shard.rank == 0:
        took = write_outputs(job, runs)
        speed = f"{took['samples_per_second']:,} samples/s on {took['device']}"
        print(f"{name}: trained in {took['train_seconds']:.2f} s ({speed})")


if __name__ == "__main__":
    run_stage(train)

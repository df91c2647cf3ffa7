"""Stage train: train the declared model on the featurized tensors; save weights and the loss history.

With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
"""

import time

import torch
from torch.nn.parallel import DistributedDataParallel

from tinynets import artifacts, distributed
from tinynets.backprop import ExplicitMlp
from tinynets.checkpoints import Checkpoint, fingerprint, save_model
from tinynets.cli import run_stage
from tinynets.devices import describe
from tinynets.models import build_mlp
from tinynets.params import check_model_fits, load_params
from tinynets.training import Monitor, Run, autograd_step, explicit_step, fit, start_run, to_tensors


def train(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    if config.train.processes > 1 and not distributed.launched():
        distributed.relaunch(config.train.processes)
    arrays = artifacts.read_arrays(artifacts.features(name))
    # prepare checks this too, for new datasets; an edit to the model alone reruns only this stage.
    check_model_fits(name, config, arrays["x_train"], arrays["y_train"])
    with distributed.process_group(params.device_for(name)) as (device, shard):
        torch.manual_seed(params.seed)
        model = build_mlp(config.model).to(device)
        data = to_tensors(arrays, config.train.loss, device)
        run = start_run(model, config.train, params.seed)
        checkpoint = Checkpoint(
            artifacts.checkpoint(name),
            fingerprint(params.seed, config.model_dump(), str(device), files=(artifacts.features(name),)),
        )
        checkpoint.restore(run)
        resumed_at = run.epoch
        mlp = ExplicitMlp(model, config.model)
        if shard.world == 1:
            step = explicit_step(mlp, run.optimizer, config.train.loss)
        else:  # DDP averages the gradients across ranks from inside autograd's backward
            step = autograd_step(DistributedDataParallel(model), run.optimizer, config.train.loss)
        monitor = Monitor(name, config.train.epochs, config.train.lr, start=resumed_at)

        def on_epoch(run: Run) -> None:
            if shard.rank == 0:
                monitor(run)
                checkpoint(run)

        started = time.perf_counter()
        fit(run, data, config.train, step, mlp.forward, on_epoch, shard)
        seconds = time.perf_counter() - started
        epochs_here = config.train.epochs - resumed_at

    if shard.rank == 0:
        save_model(artifacts.model(name), model, device=describe(device), processes=shard.world)
        artifacts.write_loss_tsv(artifacts.loss_history(name), run.history.cpu().numpy())
        artifacts.write_json(
            artifacts.run_figures(name),
            {
                "device": describe(device),
                "processes": shard.world,
                "train_seconds": round(seconds, 3),
                "seconds_per_epoch": round(seconds / epochs_here, 6),
                "samples_per_second": round(epochs_here * len(arrays["x_train"]) / seconds),
                "resumed_at_epoch": resumed_at,
            },
        )
        checkpoint.remove()


if __name__ == "__main__":
    run_stage(train)

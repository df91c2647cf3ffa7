"""Stage train: train the declared model, then score it on the test split (one torch import, not two).

Writes the weights, the loss history, the timings, the test metrics and the predictions the plots need.
With train.processes above 1 the stage runs itself again under torchrun (DDP); rank 0 alone writes.
"""

import time

import torch

from tinynets import artifacts, distributed
from tinynets.checkpoints import Checkpoint, fingerprint, save_model
from tinynets.cli import run_stage
from tinynets.devices import describe
from tinynets.evaluation import evaluate
from tinynets.models import build_mlp
from tinynets.params import check_model_fits, load_params
from tinynets.training import Monitor, Run, fit, make_step, start_run, to_tensors


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
        facts = (params.seed, config.model_dump(), str(device), shard.world)
        checkpoint = Checkpoint(artifacts.checkpoint(name), fingerprint(*facts, files=(artifacts.features(name),)))
        resumed_at = checkpoint.restore(run)
        monitor = Monitor(name, config.train.epochs, config.train.lr, start=resumed_at)

        def on_epoch(run: Run) -> None:
            if shard.rank == 0:
                monitor(run)
                checkpoint(run)

        started = time.perf_counter()
        fit(run, data, config.train, make_step(run, config.model, config.train.loss, shard), on_epoch, shard)
        seconds, epochs_here = time.perf_counter() - started, config.train.epochs - resumed_at
    if shard.rank != 0:
        return

    scores, predictions = evaluate(model, data, config)
    scores |= {"n_train": len(arrays["x_train"]), "n_test": len(arrays["x_test"]), "epochs": config.train.epochs}
    scores |= {"device": describe(device), "source": str(arrays["source"])}
    save_model(artifacts.model(name), model, device=describe(device), processes=shard.world)
    artifacts.write_loss_tsv(artifacts.loss_history(name), run.history.cpu().numpy())
    artifacts.write_arrays(artifacts.predictions(name), **predictions)
    artifacts.write_json(artifacts.model_metrics(name), scores)
    artifacts.write_json(
        artifacts.run_figures(name),
        {
            "device": describe(device),
            "processes": shard.world,
            "resumed_at_epoch": resumed_at,
            "train_seconds": round(seconds, 3),
            "seconds_per_epoch": round(seconds / epochs_here, 6),
            "samples_per_second": round(epochs_here * len(arrays["x_train"]) / seconds),
        },
    )
    checkpoint.remove()
    headline = {key: scores[key] for key in ("accuracy", "mae", "r2") if key in scores}
    print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in headline.items()))


if __name__ == "__main__":
    run_stage(train)

"""Stage train: train the declared model on the featurized tensors; save weights and the loss history."""

import time

import torch

from tinynets import artifacts
from tinynets.checkpoints import save_model
from tinynets.cli import run_stage
from tinynets.devices import describe, resolve_device
from tinynets.models import build_mlp
from tinynets.params import check_model_fits, load_params
from tinynets.plots import write_loss_tsv
from tinynets.training import Monitor, fit, to_tensors


def train(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    arrays = artifacts.read_arrays(artifacts.features(name))
    # prepare checks this too, for new datasets; an edit to the model alone reruns only this stage.
    check_model_fits(name, config, arrays["x_train"], arrays["y_train"])
    device = resolve_device(params.device_for(name))
    torch.manual_seed(params.seed)
    model = build_mlp(config.model).to(device)
    data = to_tensors(arrays, config.train.loss, device)
    generator = torch.Generator(device).manual_seed(params.seed)

    started = time.perf_counter()
    history = fit(model, data, config.train, generator, Monitor(name, config.train.epochs, config.train.lr))
    seconds = time.perf_counter() - started

    save_model(artifacts.model(name), model, device=describe(device))
    write_loss_tsv(artifacts.loss_history(name), history.cpu().numpy())
    samples = config.train.epochs * len(data.x_train)
    artifacts.write_json(
        artifacts.run_figures(name),
        {
            "device": describe(device),
            "train_seconds": round(seconds, 3),
            "seconds_per_epoch": round(seconds / config.train.epochs, 6),
            "samples_per_second": round(samples / seconds),
        },
    )


if __name__ == "__main__":
    run_stage(train)

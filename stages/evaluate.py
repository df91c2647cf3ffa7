"""Stage evaluate: score the trained model on the test split; keep its predictions for the plots."""

from tinynets import artifacts
from tinynets.checkpoints import load_model
from tinynets.cli import run_stage
from tinynets.devices import resolve_device
from tinynets.evaluation import evaluate
from tinynets.models import build_mlp
from tinynets.params import load_params
from tinynets.training import to_tensors


def evaluate_stage(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    arrays = artifacts.read_arrays(artifacts.features(name))
    checkpoint = load_model(artifacts.model(name))
    device = resolve_device(params.device_for(name))
    model = build_mlp(config.model)
    model.load_state_dict(checkpoint["state_dict"])
    scores, predictions = evaluate(model.to(device), to_tensors(arrays, config.train.loss, device), config)
    scores |= {
        "n_train": len(arrays["x_train"]),
        "n_test": len(arrays["x_test"]),
        "epochs": config.train.epochs,
        "device": checkpoint["device"],
        "source": str(arrays["source"]),
    }
    artifacts.write_arrays(artifacts.predictions(name), **predictions)
    artifacts.write_json(artifacts.model_metrics(name), scores)
    headline = {key: scores[key] for key in ("accuracy", "mae", "r2") if key in scores}
    print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in headline.items()))


if __name__ == "__main__":
    run_stage(evaluate_stage)

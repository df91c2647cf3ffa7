"""Stage featurize: fit the scaler on the train split, apply it to both splits, keep its stats."""

from tinynets import artifacts
from tinynets.cli import run_stage
from tinynets.params import load_params
from tinynets.preprocess import fit_scaler


def featurize(name: str) -> None:
    config = load_params().dataset(name)
    raw = artifacts.read_arrays(artifacts.prepared(name))
    scaler = fit_scaler(config.data.scaler, raw["x_train"])
    artifacts.write_arrays(
        artifacts.features(name),
        x_train=scaler.transform(raw["x_train"]),
        y_train=raw["y_train"],
        x_test=scaler.transform(raw["x_test"]),
        y_test=raw["y_test"],
        source=raw["source"],
    )
    artifacts.write_json(artifacts.scaler_stats(name), scaler.stats())


if __name__ == "__main__":
    run_stage(featurize)

"""Stage featurize: fit the scalers on the train split, apply them to both splits, describe the result."""

from tinynets import artifacts
from tinynets.cli import run_stage
from tinynets.params import load_params
from tinynets.preprocess import featurize as make_features
from tinynets.validation import data_digest


def featurize(name: str) -> None:
    params = load_params()
    features, info = make_features(artifacts.read_arrays(artifacts.prepared(name)), params.dataset(name))
    info["made_from"] = data_digest(params, name)
    artifacts.write_arrays(artifacts.features(name), **features)
    artifacts.write_json(artifacts.feature_info(name), info)


if __name__ == "__main__":
    run_stage(featurize)

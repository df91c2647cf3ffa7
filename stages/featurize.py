"""Stage featurize: fit the scalers on the train split, apply them to every split, describe the result."""

from tinynets import artifacts, settings
from tinynets.cli import run_stage
from tinynets.preprocess import featurize as make_features


def featurize(name: str) -> None:
    path = artifacts.data_settings(name)
    data = settings.read(path)
    features, info = make_features(artifacts.read_arrays(artifacts.prepared(name)), data)
    info["made_from"] = settings.digest(settings.plain(data))  # validate compares it to tell stale facts
    artifacts.write_arrays(artifacts.features(name), **features)
    artifacts.write_json(artifacts.feature_info(name), info)


if __name__ == "__main__":
    run_stage(featurize)

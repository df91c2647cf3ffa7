"""Stage featurize: fit the scalers on the training rows, apply them to every split, describe the result."""

from tinynets.common import artifacts, settings
from tinynets.common.facts import renaming
from tinynets.common.stage import run_stage
from tinynets.preprocess import featurize as make_features


def featurize(name: str) -> None:
    raw = artifacts.read_arrays(artifacts.prepared(name))
    config = settings.read(artifacts.featurize_settings(name))
    features, info = make_features(raw, config, name)
    renamed = renaming(config.data.classes, info["facts"]["labels"]) if "classes" in info else None
    if renamed:
        print(f"{name}: {renamed}")
    info["made_from"] = str(raw["made_from"])  # the prepare settings' digest: validate tells stale facts by it
    artifacts.write_arrays(artifacts.features(name), **features)
    artifacts.write_json(artifacts.feature_info(name), info)


if __name__ == "__main__":
    run_stage(featurize)

"""Stage featurize: fit the scalers on the training rows, apply them to every split, describe the result."""

from tinynets.common import contracts, files, paths, settings
from tinynets.common.facts import renaming
from tinynets.common.stage import run_stage
from tinynets.preprocess import featurize as make_features


def featurize(name: str) -> None:
    where = paths.of(name)
    raw = files.read_arrays(where.prepared)
    config = settings.read(where.featurize_settings)
    features, info = make_features(raw, config, name)
    renamed = renaming(config.data.classes, info["facts"]["labels"]) if "classes" in info else None
    if renamed:
        print(f"{name}: {renamed}")
    info["made_from"] = str(raw["made_from"])  # the prepare settings' digest: validate tells stale facts by it
    files.write_arrays(where.features, **features)
    contracts.write(contracts.FEATURE_INFO, where.feature_info, info)


if __name__ == "__main__":
    run_stage(featurize)

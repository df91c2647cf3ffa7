"""Stage prepare: obtain a dataset's raw data and split it into train, test and (with valid_size) validation."""

import numpy as np

from tinynets import sources
from tinynets.common import files, paths, settings
from tinynets.common.stage import run_stage


def prepare(name: str) -> None:
    config = settings.read(paths.of(name).prepare_settings)
    raw = sources.prepare(config, name)
    arrays = {
        key: value for key, value in raw.fields().items() if isinstance(value, np.ndarray)
    }  # splits, series facts
    files.write_arrays(
        paths.of(name).prepared,
        **arrays,
        source=np.array(raw.source),
        feature_names=np.array(raw.feature_names, dtype=str),
        target_names=np.array(raw.target_names, dtype=str),
        text_names=np.array(raw.text_names, dtype=str),
        made_from=np.array(settings.digest(settings.plain(config))),  # validate compares it to tell stale facts
    )
    held_out = f", {len(raw.x_valid)} validation" if raw.x_valid is not None else ""
    print(f"{name}: {len(raw.x_train)} train{held_out} and {len(raw.x_test)} test rows from {raw.source}")


if __name__ == "__main__":
    run_stage(prepare)

"""Stage prepare: obtain a dataset's raw data and split it into train and test."""

import numpy as np

from tinynets import artifacts, sources
from tinynets.cli import run_stage
from tinynets.devices import check_available
from tinynets.params import check_model_fits, load_params


def prepare(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    check_available(params.device_for(name))
    raw = sources.load(config.data, params.seed, name)
    check_model_fits(name, config, raw.x_train, raw.y_train)
    artifacts.write_arrays(
        artifacts.prepared(name),
        x_train=raw.x_train,
        y_train=raw.y_train,
        x_test=raw.x_test,
        y_test=raw.y_test,
        source=np.array(raw.source),
    )
    print(f"{name}: {len(raw.x_train)} train and {len(raw.x_test)} test rows from {raw.source}")


if __name__ == "__main__":
    run_stage(prepare)

"""Stage prepare: obtain a dataset's raw data and split it into train and test."""

import numpy as np

from tinynets import artifacts, sources
from tinynets.cli import run_stage
from tinynets.params import load_params


def prepare(name: str) -> None:
    params = load_params()
    config = params.dataset(name)
    raw = sources.load(config.data, params.seed, name, classify=config.is_classifier)
    text = {} if raw.text_train is None else {"text_train": raw.text_train, "text_test": raw.text_test}
    artifacts.write_arrays(
        artifacts.prepared(name),
        x_train=raw.x_train,
        y_train=raw.y_train,
        x_test=raw.x_test,
        y_test=raw.y_test,
        source=np.array(raw.source),
        feature_names=np.array(raw.feature_names, dtype=str),
        target_names=np.array(raw.target_names, dtype=str),
        text_names=np.array(raw.text_names, dtype=str),
        **text,
    )
    print(f"{name}: {len(raw.x_train)} train and {len(raw.x_test)} test rows from {raw.source}")


if __name__ == "__main__":
    run_stage(prepare)

"""Pre-flight checks: everything about params.yaml that can be known before a stage deletes its outputs.

DVC removes a stage's outputs before running it, so a mistake found inside a stage costs the user their
previous results. The validate stage, at the head of the pipeline, runs these checks first: the schema,
the device, and whether each model fits its data, with the data's shape read from the last featurize
(or, when the data params changed since, from the data loaded in memory).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynets.errors import ConfigError
from tinynets.params import DatasetConfig, Params


@dataclass(frozen=True)
class DataFacts:
    """What a model must fit: the width of its inputs and the kind and number of its targets."""

    n_features: int
    n_train: int
    n_targets: int  # target columns (1 for class labels)
    n_classes: int | None  # labels 0..K-1 when every target is a non-negative integer, else None
    binary: bool  # every target is 0 or 1

    @classmethod
    def of(cls, x_train: np.ndarray, y_train: np.ndarray) -> DataFacts:
        """The facts of a train split, from its arrays."""
        y = np.asarray(y_train)
        integral = y.size > 0 and np.issubdtype(y.dtype, np.number) and bool(np.all(np.mod(y, 1) == 0))
        indices = integral and y.ndim == 1 and y.min() >= 0
        return cls(
            n_features=int(np.prod(x_train.shape[1:])),
            n_train=len(x_train),
            n_targets=int(np.prod(y.shape[1:])),
            n_classes=int(y.max()) + 1 if indices else None,
            binary=bool(np.isin(y, (0, 1)).all()),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def data_digest(params: Params, name: str, files: tuple[Path, ...] = ()) -> str:
    """A digest of everything a dataset's prepared data depends on: the seed, its data params, its files."""
    config = params.dataset(name).data.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps([params.seed, config], sort_keys=True).encode())
    for path in files:
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def check_model_fits(name: str, config: DatasetConfig, facts: DataFacts) -> None:
    """Raise ConfigError when the model's first or last size does not fit the data, the loss does not fit
    the targets, the class names do not fit the classes, or there are more processes than training rows."""
    where = f"params.yaml: datasets.{name}"
    if config.train.processes > facts.n_train:
        raise ConfigError(
            f"{where}.train.processes: {config.train.processes} processes, "
            f"but only {facts.n_train} training rows to share"
        )
    layers = config.model.layers
    if layers[0] != facts.n_features:
        raise ConfigError(
            f"{where}.model.layers: the first size is {layers[0]}, but the data has {facts.n_features} features"
        )
    loss = config.train.loss
    if loss == "cross_entropy":
        if facts.n_classes is None:
            raise ConfigError(
                f"{where}.train.loss: cross_entropy needs class labels 0..K-1, "
                "but the targets are not (use mse for regression)"
            )
        if layers[-1] != facts.n_classes:
            raise ConfigError(
                f"{where}.model.layers: the last size is {layers[-1]}, but the data has {facts.n_classes} classes"
            )
    elif loss == "mse":
        if layers[-1] != facts.n_targets:
            raise ConfigError(
                f"{where}.model.layers: the last size is {layers[-1]}, but the data has {facts.n_targets} target(s)"
            )
    elif not facts.binary:
        raise ConfigError(f"{where}.train.loss: bce_with_logits needs 0/1 targets")
    classes = config.data.classes
    wanted = 2 if loss == "bce_with_logits" else layers[-1]
    if config.is_classifier and classes is not None and len(classes) != wanted:
        raise ConfigError(f"{where}.data.classes: names {len(classes)} classes, but the model has {wanted}")


def known_facts(params: Params, name: str) -> DataFacts | None:
    """The facts of a dataset's current data: from the last featurize if its data params are unchanged,
    else by loading and featurizing the data in memory. None when the dataset was never trained here
    (nothing can be lost: train checks the model against the data before it writes anything)."""
    from tinynets import artifacts

    info_path = artifacts.feature_info(name)
    if info_path.exists():
        info = artifacts.read_json(info_path)
        if info.get("made_from") == data_digest(params, name):
            return DataFacts(**info["facts"])
    if not any(path.exists() for path in artifacts.trained(name)):
        return None
    return dry_run(params, name)


def dry_run(params: Params, name: str) -> DataFacts:
    """Load and featurize a dataset in memory, writing nothing, to learn the facts of its data."""
    from dataclasses import asdict as fields

    import numpy as np

    from tinynets import sources
    from tinynets.preprocess import featurize

    raw = sources.load(params.dataset(name).data, params.seed, name)
    arrays = {key: np.asarray(value) for key, value in fields(raw).items()}
    _, info = featurize(arrays, params.dataset(name))
    return DataFacts(**info["facts"])


def validate(params: Params) -> dict[str, dict[str, str]]:
    """Check every dataset in `run` (device, then model against data); return what the validate stage writes."""
    from tinynets.devices import check_available

    for name in params.run:
        check_available(params.device_for(name))
        facts = known_facts(params, name)
        if facts is not None:
            check_model_fits(name, params.dataset(name), facts)
    return {name: {"data": data_digest(params, name)} for name in params.run}

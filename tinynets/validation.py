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
from tinynets.params import DatasetConfig, ModelConfig, Params
from tinynets.shapes import trace


@dataclass(frozen=True)
class DataFacts:
    """What a model must fit: the shape of its inputs and the kind and number of its targets."""

    input_shape: tuple[int, ...]  # one sample's: (features,) for a table, (height, width) for images
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
            input_shape=tuple(int(size) for size in x_train.shape[1:]),
            n_train=len(x_train),
            n_targets=int(np.prod(y.shape[1:])),
            n_classes=int(y.max()) + 1 if indices else None,
            binary=bool(np.isin(y, (0, 1)).all()),
        )

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, facts: dict[str, Any]) -> DataFacts:
        return cls(**{**facts, "input_shape": tuple(facts["input_shape"])})


def data_digest(params: Params, name: str) -> str:
    """A digest of everything a dataset's prepared data depends on: the seed, its data params, its file."""
    data = params.dataset(name).data
    digest = hashlib.sha256(json.dumps([params.seed, data.model_dump(mode="json")], sort_keys=True).encode())
    path = Path(getattr(data, "path", "") or "")
    if path.is_file():
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()


def outputs_needed(name: str, config: DatasetConfig, facts: DataFacts) -> int:
    """How many outputs the data asks of the network under its loss (or ConfigError when they do not fit)."""
    where = f"params.yaml: datasets.{name}.train.loss"
    if config.train.loss == "cross_entropy":
        if facts.n_classes is None:
            raise ConfigError(f"{where}: cross_entropy needs class labels 0..K-1, but the targets are not (use mse)")
        return facts.n_classes
    if config.train.loss == "bce_with_logits":
        if not facts.binary:
            raise ConfigError(f"{where}: bce_with_logits needs 0/1 targets")
        return 1
    return facts.n_targets


def resolved_model(name: str, config: DatasetConfig, facts: DataFacts) -> ModelConfig:
    """The model with every size it leaves out taken from the data; ConfigError where a size does not fit."""
    outputs = outputs_needed(name, config, facts)
    model = config.model
    if model.blocks is not None:
        trace(name, model, facts.input_shape, outputs)
        return model
    layers = model.layers
    where = f"params.yaml: datasets.{name}.model.layers"
    if layers[0] != "auto" and layers[0] != facts.n_features:
        raise ConfigError(f"{where}: the first size is {layers[0]}, but the data has {facts.n_features} features")
    if layers[-1] != "auto" and layers[-1] != outputs:
        what = f"{outputs} classes" if config.train.loss == "cross_entropy" else f"{outputs} target(s)"
        raise ConfigError(f"{where}: the last size is {layers[-1]}, but the data has {what}")
    return model.model_copy(update={"layers": [facts.n_features, *layers[1:-1], outputs]})


def check_model_fits(name: str, config: DatasetConfig, facts: DataFacts) -> None:
    """Raise ConfigError when the model does not fit the data, the loss does not fit the targets, the class
    names do not fit the classes, or there are more processes than training rows."""
    where = f"params.yaml: datasets.{name}"
    if config.train.processes > facts.n_train:
        raise ConfigError(
            f"{where}.train.processes: {config.train.processes} processes, "
            f"but only {facts.n_train} training rows to share"
        )
    resolved_model(name, config, facts)
    classes = config.data.classes
    wanted = 2 if config.train.loss == "bce_with_logits" else outputs_needed(name, config, facts)
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
            try:
                return DataFacts.from_dict(info["facts"])
            except (KeyError, TypeError):  # written by an older tinynets: learn the facts afresh
                pass
    if not any(path.exists() for path in artifacts.trained(name)):
        return None
    return dry_run(params, name)


def dry_run(params: Params, name: str) -> DataFacts:
    """Load and featurize a dataset in memory, writing nothing, to learn the facts of its data."""
    from tinynets import sources
    from tinynets.preprocess import featurize

    config = params.dataset(name)
    raw = sources.load(config.data, params.seed, name, classify=config.is_classifier)
    arrays = {key: np.asarray(value) for key, value in asdict(raw).items() if value is not None}
    _, info = featurize(arrays, config)
    return DataFacts.from_dict(info["facts"])


def validate(params: Params) -> dict[str, dict[str, str]]:
    """Check every dataset in `run` (device, then model against data); return what the validate stage writes."""
    from tinynets.devices import check_available

    for name in params.run:
        check_available(params.device_for(name))
        facts = known_facts(params, name)
        if facts is not None:
            check_model_fits(name, params.dataset(name), facts)
    return {name: {"data": data_digest(params, name)} for name in params.run}

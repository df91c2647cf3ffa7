"""The params.yaml schema: each section's keys, their types and ranges, their defaults. What no single key's type
can say (a loss that fits the outputs, say) is a cross-field rule, in tinynets.rules, which also reads the file."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from tinynets.blocks import ACTIVATIONS, KINDS, BlockKind, Count, Size
from tinynets.common.errors import ConfigError
from tinynets.common.facts import is_classifier
from tinynets.common.losses import LOSSES

Activation = Literal[tuple(ACTIVATIONS)]
Init = Literal["default", "normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]
Loss = Literal[tuple(LOSSES)]
Scaler = Literal["minmax", "standard", "none", "pixels"]
TargetScaler = Literal["none", "standard", "minmax"]
ClassNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
DeviceName = Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")]
Probability = Annotated[float, Field(gt=0, lt=1)]
Seed = Annotated[int, Field(strict=True, ge=0, lt=2**32)]  # what torch, numpy and scikit-learn all take


class Strict(BaseModel):
    """A params section: unknown keys (typos such as `learning_rate`) are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Split(Strict):
    """How one set of rows is split into train and test (sklearn's train_test_split)."""

    test_size: Probability = 0.2
    random_state: int = 42
    stratify: bool = False
    # K: cross-validation, each model validated on each of K folds of the train split in turn (stratified by
    # class for a classifier), then refit on every train row; repeated K-fold with train.repeats
    folds: Annotated[int, Field(ge=2)] | None = None


class Data(Strict):
    """What every data source shares: the split, the scalers, and the class names shown in results."""

    split: Split = Split()
    target_scaler: TargetScaler = "none"  # regression targets: fitted on train, inverted for metrics
    classes: ClassNames | None = None  # names for class indices 0..K-1; default: the source's names


class SklearnData(Data):
    """An sklearn.datasets loader (load_*) or generator (make_*), called by name with kwargs."""

    source: Literal["sklearn"]
    name: Annotated[str, Field(pattern=r"^(load|make)_[a-z0-9_]+$")]
    kwargs: dict[str, Any] = {}
    test_kwargs: dict[str, Any] | None = None
    scaler: Scaler = "standard"


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


TableScaler = Literal["minmax", "standard", "none"]  # pixels is for images


class CsvData(Data):
    """A user's own table: one row per sample, a header row naming the columns."""

    source: Literal["csv"]
    path: Annotated[str, Field(pattern=r"\.csv$")]
    target: Annotated[str, Field(min_length=1)]
    features: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None  # default: all
    missing: Literal["error", "drop"] = "error"  # a row with an empty cell: stop, or leave the row out
    scaler: TableScaler = "standard"


class SeriesSplit(Strict):
    """A series' chronological split: the last shares of its timeline are the validation, then the test period."""

    valid_size: Annotated[float, Field(ge=0, lt=1)] = 0.15  # 0: no validation period
    test_size: Probability = 0.15
    # K: rolling-origin cross-validation inside the train period (with valid_size 0): each fold's net trained on
    # the windows before its fold, then refit on every train window
    folds: Annotated[int, Field(ge=2)] | None = None


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
    early_stopping: EarlyStopping | None = None  # needs valid_size (or data.split.folds)
    repeats: Annotated[int, Field(ge=1)] = 1  # models trained with seeds seed, seed+1, ...: the spread
    # the first of those seeds (weights, shuffling); null: the global seed, which draws the data's split too
    seed: Seed | None = None


class DatasetConfig(Strict):
    """One dataset of the pipeline: where its data comes from, its model, how it trains."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    @property
    def is_classifier(self) -> bool:
        return is_classifier(self.train.loss)

    @property
    def validation_setting(self) -> str:
        """The setting that gives it a validation split: a series' period, or a table's random hold-out."""
        return "data.split.valid_size" if self.data.source == "timeseries" else "train.valid_size"

    @property
    def validates(self) -> bool:
        """Whether it holds out a validation split (what early stopping watches and a search chooses on)."""
        if self.data.split.folds is not None:
            return True
        if self.data.source == "timeseries":
            return self.data.split.valid_size > 0
        return self.train.valid_size is not None


class EvaluateConfig(Strict):
    """How the evaluate stage scores every net: beside which reference models."""

    baselines: bool = True  # a trivial and a linear model, fitted on the same split and features
    # Train rows x features above which the linear classifier is fit by 10 epochs of SGD, not lbfgs (slow there).
    baseline_sgd_above_cells: Annotated[int, Field(ge=0)] = 4_000_000


class LogUniform(Strict):
    """A float whose logarithm is drawn uniformly from [log low, log high] (a learning rate, say)."""

    type: Literal["log_uniform"]
    low: Annotated[float, Field(gt=0)]
    high: float


class Uniform(Strict):
    """A float drawn uniformly from [low, high]."""

    type: Literal["uniform"]
    low: float
    high: float


class IntRange(Strict):
    """An integer from low to high (both included), in steps of `step`."""

    type: Literal["int"]
    low: int
    high: int
    step: Annotated[int, Field(ge=1)] = 1


class Choice(Strict):
    """One of the listed values."""

    type: Literal["choice"]
    values: Annotated[list[Any], Field(min_length=1)]


Distribution = Annotated[LogUniform | Uniform | IntRange | Choice, Field(discriminator="type")]


class SearchConfig(Strict):
    """A search over a dataset's params (`tinynets search`): an Optuna study whose every trial is a DVC experiment.
    No stage reads it."""

    space: Annotated[dict[str, Distribution], Field(min_length=1)]  # a param path, as `dvc exp run -S` writes it
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "halving", "none"] = "median"  # stops a trial whose validation loss lags
    trials: Annotated[int, Field(ge=1)] = 20
    workers: Annotated[int, Field(ge=1)] = 1  # trials at once, each in its own workspace
    metric: str = "loss"  # what the trials are chosen on, on the validation split
    seed: int = 0  # the sampler's (each trial's sampler is seeded by it and the trial's number)
    n_startup_trials: Annotated[int, Field(ge=0)] = 5  # TPE: random trials before it models the good ones
    multivariate: bool = True  # TPE: models the params together (they interact: lr and batch size, say)
    constant_liar: bool | None = None  # TPE: counts running trials as bad ones, so workers spread; null: on with
    # 2+ workers or a storage given with --storage (other machines' trials run at once too)
    grace: Annotated[int, Field(ge=2)] = 60  # seconds a trial on a database may be silent (its machine died?)


class Params(Strict):
    """The whole params.yaml."""

    seed: Seed = 42
    device: DeviceName = "auto"
    run: Annotated[list[str], Field(min_length=1)]
    export: list[str] = []  # datasets whose trained model the export stage writes as ONNX
    evaluate: EvaluateConfig = EvaluateConfig()
    datasets: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], DatasetConfig]
    search: dict[str, SearchConfig] = {}  # by dataset

    def dataset(self, name: str) -> DatasetConfig:
        """The config of one dataset, or a ConfigError naming the known ones."""
        if name not in self.datasets:
            raise ConfigError(f"unknown dataset {name!r}; params.yaml defines {', '.join(self.datasets)}")
        return self.datasets[name]

    def device_for(self, name: str) -> str:
        """The device a dataset trains on: its own train.device, else the global one."""
        return self.dataset(name).train.device or self.device

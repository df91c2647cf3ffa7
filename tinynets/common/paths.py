"""Where each stage's files live: the folders, and every file of a dataset, named after what it holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SETTINGS = Path("settings")  # the validate stage's output: each stage's settings, every default filled in
RUN_SETTINGS = SETTINGS / "run.json"  # the datasets of the run, in order (evaluate, plot, report)
EVALUATE_SETTINGS = SETTINGS / "evaluate.json"  # how every net is scored (evaluate)
PREDICTIONS = Path("data/predictions")  # evaluate's, whole
METRICS = Path("metrics")  # evaluate's, whole
IMAGES = Path("plots/images")  # plot's, whole
REPORTS = Path("reports")  # report's, whole
SEARCHES = Path("search")  # tinynets search's summaries (<dataset>.json): a user commits them; plot and report read
JOURNALS = SEARCHES / "journals"  # the studies, one journal file per dataset (neither git nor DVC looks in)
SEARCH_WORKSPACES = Path(".dvc/tmp/search")  # a search's workers' clones (git and DVC ignore .dvc/tmp)
OWN_DATA = Path("data/own")  # the folder the validate stage watches: a user's files live here
RAW_DIR = Path("data/raw")  # torchvision's downloads
PARAMS_FILE = Path("params.yaml")
LOCK_FILE = Path("dvc.lock")
PLOTS_TEMPLATE = Path(".dvc/plots.html")  # .dvc/config: [plots] html_template = plots.html (relative to .dvc/)


@dataclass(frozen=True)
class DatasetFiles:
    """Every file of one dataset, by what it holds."""

    name: str
    prepare_settings: Path  # source, split, task, hold-out, seed, the digests of the files it reads
    featurize_settings: Path  # the scalers, the class names, the task
    train_settings: Path  # model, training, seed, device
    prepared: Path  # the raw train, validation and test splits
    features: Path  # the splits scaled
    feature_info: Path  # what the features are: names, classes, the fitted scalers' stats, the shape facts
    model: Path  # the first seed's weights and what they are
    loss_history: Path  # the loss per epoch of each split, and the lr
    outputs: Path  # the trained nets' raw outputs on the test (and validation) split, a decision grid
    learning: Path  # what train recorded of the net learning and what it learned, for the figures
    dynamics: Path  # per recorded epoch and layer: the weight and gradient norms, the share of dead ReLU units
    timings: Path  # the last training's timings: no DVC output, as they differ from run to run
    predictions: Path  # labels or values predicted on the test split, with what the plots need
    metrics: Path
    images: Path  # the folder of its figures
    search_summary: Path  # its last search: every trial's params and metric, each param's importance
    onnx_model: Path
    export_metrics: Path  # the ONNX export's parity numbers, beside the ONNX file (metrics/ is evaluate's)

    def checkpoint(self, repeat: int = 0) -> Path:
        """The training state of the run with the dataset's `repeat`-th seed, saved so that a killed run resumes
        (no DVC output)."""
        return Path("checkpoints") / (f"{self.name}.pt" if repeat == 0 else f"{self.name}.{repeat}.pt")

    @property
    def through_train(self) -> list[Path]:
        """The outputs of its prepare, featurize and train stages: what a model that does not fit its data would
        cost, were it found only when train starts (the stages after train would not run)."""
        return [self.prepared, *self.in_whole_folders]

    @property
    def in_whole_folders(self) -> list[Path]:
        """Its files in the folders that evaluate, plot and report depend on whole."""
        return [
            self.features,
            self.feature_info,
            self.model,
            self.loss_history,
            self.outputs,
            self.learning,
            self.dynamics,
        ]

    @property
    def exported(self) -> list[Path]:
        """Its export stage's files (for the datasets in `export`)."""
        return [self.onnx_model, self.export_metrics]


def of(name: str) -> DatasetFiles:
    """Where dataset `name`'s files live."""
    return DatasetFiles(
        name,
        prepare_settings=SETTINGS / name / "prepare.json",
        featurize_settings=SETTINGS / name / "featurize.json",
        train_settings=SETTINGS / name / "train.json",
        prepared=Path("data/prepared") / f"{name}.npz",
        features=Path("data/features") / f"{name}.npz",
        feature_info=Path("data/features") / f"{name}.json",
        model=Path("models") / f"{name}.safetensors",
        loss_history=Path("plots/loss") / f"{name}.tsv",
        outputs=Path("data/outputs") / f"{name}.npz",
        learning=Path("data/learning") / f"{name}.npz",
        dynamics=Path("plots/dynamics") / f"{name}.tsv",
        timings=Path("runs") / f"{name}.json",
        predictions=PREDICTIONS / f"{name}.npz",
        metrics=METRICS / f"{name}.json",
        images=IMAGES / name,
        search_summary=SEARCHES / f"{name}.json",
        onnx_model=Path("models") / f"{name}.onnx",
        export_metrics=Path("models") / f"{name}.onnx.json",
    )

"""Where each stage's files live: one function or constant per file or folder, named after what it holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHECKS = Path("checks")  # the validate stage's output: each stage's settings, every default filled in
RUN_SETTINGS = CHECKS / "run.json"  # the datasets of the run, in order (evaluate, plot, report)
EVALUATE_SETTINGS = CHECKS / "evaluate.json"  # how every net is scored (evaluate)


def prepare_settings(name: str) -> Path:
    """A dataset's prepare settings: source, split, task, hold-out, seed, the digests of the files it reads."""
    return CHECKS / name / "prepare.json"


def featurize_settings(name: str) -> Path:
    """A dataset's featurize settings: the scalers, the class names, the task."""
    return CHECKS / name / "featurize.json"


def train_settings(name: str) -> Path:
    """A dataset's training settings (train): model, training, seed, device."""
    return CHECKS / name / "train.json"


def prepared(name: str) -> Path:
    return Path("data/prepared") / f"{name}.npz"


def features(name: str) -> Path:
    return Path("data/features") / f"{name}.npz"


def feature_info(name: str) -> Path:
    """What the features are: names, classes, the fitted scalers' stats, the shape facts."""
    return Path("data/features") / f"{name}.json"


def model(name: str) -> Path:
    return Path("models") / f"{name}.safetensors"


def onnx_model(name: str) -> Path:
    return Path("models") / f"{name}.onnx"


def export_metrics(name: str) -> Path:
    """The ONNX export's parity numbers, beside the ONNX file (metrics/ is the evaluate stage's folder)."""
    return Path("models") / f"{name}.onnx.json"


def checkpoint(name: str, repeat: int = 0) -> Path:
    """Training state saved during a run, so that a killed run resumes (not a DVC output); one per seed."""
    return Path("checkpoints") / (f"{name}.pt" if repeat == 0 else f"{name}.{repeat}.pt")


def loss_history(name: str) -> Path:
    return Path("plots/loss") / f"{name}.tsv"


def outputs(name: str) -> Path:
    """The trained network's raw outputs on the test split (and a decision grid), for the evaluate stage."""
    return Path("data/outputs") / f"{name}.npz"


def learning(name: str) -> Path:
    """What train recorded of the net learning and what it learned, for the figures that show it (plot)."""
    return Path("data/learning") / f"{name}.npz"


def dynamics(name: str) -> Path:
    """Per recorded epoch and layer: the weight and gradient norms and the share of dead ReLU units."""
    return Path("plots/dynamics") / f"{name}.tsv"


def timings(name: str) -> Path:
    """Timings of the last training run: not a DVC output, as they differ run to run."""
    return Path("runs") / f"{name}.json"


@dataclass(frozen=True)
class TrainFiles:
    """The files the train stage reads and writes for one dataset, in one place."""

    name: str
    settings: Path
    features: Path
    model: Path
    loss_history: Path
    dynamics: Path
    outputs: Path
    learning: Path
    timings: Path

    def checkpoint(self, repeat: int) -> Path:
        """The checkpoint of the run with the dataset's `repeat`-th seed."""
        return checkpoint(self.name, repeat)


def train_files(name: str) -> TrainFiles:
    """Where dataset `name`'s train stage reads its settings and features and writes its outputs."""
    return TrainFiles(
        name,
        train_settings(name),
        features(name),
        model(name),
        loss_history(name),
        dynamics(name),
        outputs(name),
        learning(name),
        timings(name),
    )


PREDICTIONS = Path("data/predictions")
METRICS = Path("metrics")


def predictions(name: str, folder: Path = PREDICTIONS) -> Path:
    """Labels or values predicted on the test split, with what the plots need."""
    return folder / f"{name}.npz"


def model_metrics(name: str, folder: Path = METRICS) -> Path:
    return folder / f"{name}.json"


IMAGES = Path("plots/images")


def images(name: str) -> Path:
    return IMAGES / name


def through_train(name: str) -> list[Path]:
    """The outputs of a dataset's prepare, featurize and train stages: what a model that does not fit its
    data would cost, were it found only when train starts (the stages after train would not run)."""
    return [
        prepared(name),
        features(name),
        feature_info(name),
        model(name),
        loss_history(name),
        outputs(name),
        learning(name),
        dynamics(name),
    ]


REPORTS = Path("reports")


def left_over(run: list[str], export: list[str]) -> list[Path]:
    """Files of datasets no longer in the run (or export list) in the folders that evaluate, plot and report
    depend on whole. DVC never removes the outputs of a stage that has left dvc.yaml, and these would count in
    the folders' hashes: a run with another dataset and back would rerun those stages and change dvc.lock."""
    per_dataset = (features, feature_info, outputs, loss_history, model, learning, dynamics)
    per_export = (onnx_model, export_metrics)
    wanted = {path(name) for name in run for path in per_dataset} | {
        path(name) for name in export for path in per_export
    }
    folders = sorted({path("_").parent for path in (*per_dataset, *per_export)})
    return [
        found
        for folder in folders
        if folder.is_dir()
        for found in sorted(folder.iterdir())
        if found.is_file() and not found.name.startswith(".") and found not in wanted
    ]

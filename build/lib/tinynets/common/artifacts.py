"""Where each stage's files live, and writes that never leave a half-written file at a final path."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

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
    """The ONNX export's parity figures, beside the ONNX file (metrics/ is the evaluate stage's folder)."""
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


def run_figures(name: str) -> Path:
    """Timings of the last training run: not a DVC output, as they differ run to run."""
    return Path("runs") / f"{name}.json"


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


def trained(name: str) -> list[Path]:
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


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; it replaces `final` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_with(final: Path, write: Callable[[Path], None]) -> None:
    """Write `final` atomically through `write(tmp_path)`."""
    with atomic_path(final) as tmp:
        write(tmp)


def write_text(final: Path, text: str) -> None:
    """Write a text file atomically."""
    write_with(final, lambda tmp: tmp.write_text(text))


def write_json(final: Path, data: Any) -> None:
    """Write JSON atomically, keys sorted so equal data gives equal bytes."""
    write_text(final, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_arrays(final: Path, **arrays: np.ndarray) -> None:
    """Write named arrays as one uncompressed .npz, atomically."""

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    write_with(final, save)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an .npz (no pickles allowed)."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def write_loss_tsv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Per-epoch losses (and the lr) as a TSV that DVC plots: an `epoch` column from 1, then one per series."""
    names = ["epoch", *columns]
    epochs = len(next(iter(columns.values())))
    series = [np.asarray(values).tolist() for values in columns.values()]
    lines = ["\t".join(names)]
    lines += ["\t".join([str(epoch + 1), *(f"{values[epoch]:.6g}" for values in series)]) for epoch in range(epochs)]
    write_text(path, "\n".join(lines) + "\n")


def write_tsv(path: Path, columns: dict[str, list]) -> None:
    """Columns of equal length as a TSV that DVC plots: numbers to 6 significant digits, NaN as an empty cell."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if value != value else f"{value:.6g}"
        return str(value)

    rows = zip(*columns.values(), strict=True)
    lines = ["\t".join(columns), *("\t".join(map(cell, row)) for row in rows)]
    write_text(path, "\n".join(lines) + "\n")


def read_tsv(path: Path) -> dict[str, np.ndarray]:
    """A TSV's columns by name: numbers as floats (an empty cell as NaN), any other column as text."""
    lines = path.read_text().splitlines()
    names, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    columns = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        try:
            columns[name] = np.array([float(value) if value else np.nan for value in values])
        except ValueError:
            columns[name] = np.array(values, dtype=str)
    return columns


def read_loss_tsv(path: Path) -> dict[str, np.ndarray]:
    """The loss history's columns by name (epoch, train, test, ...)."""
    names = path.read_text().split("\n", 1)[0].split("\t")
    table = np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)
    return {name: table[:, index] for index, name in enumerate(names)}

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


def prepared(name: str) -> Path:
    return Path("data/prepared") / f"{name}.npz"


def features(name: str) -> Path:
    return Path("data/features") / f"{name}.npz"


def scaler_stats(name: str) -> Path:
    return Path("data/features") / f"{name}.scaler.json"


def model(name: str) -> Path:
    return Path("models") / f"{name}.pt"


def checkpoint(name: str) -> Path:
    """Training state saved during a run, so that a killed run resumes (not a DVC output)."""
    return Path("checkpoints") / f"{name}.pt"


def loss_history(name: str) -> Path:
    return Path("plots/loss") / f"{name}.tsv"


def run_figures(name: str) -> Path:
    return Path("runs") / f"{name}.json"


def predictions(name: str) -> Path:
    return Path("data/predictions") / f"{name}.npz"


def model_metrics(name: str) -> Path:
    return Path("metrics") / f"{name}.json"


def images(name: str) -> Path:
    return Path("plots/images") / name


REPORTS = Path("reports")


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


LOSS_COLUMNS = ("epoch", "train", "test")


def write_loss_tsv(path: Path, history: np.ndarray) -> None:
    """The per-epoch train and test loss as a TSV that DVC plots (x: epoch, y: train and test)."""
    lines = ["\t".join(LOSS_COLUMNS)]
    lines += [f"{epoch}\t{train:.6g}\t{test:.6g}" for epoch, (train, test) in enumerate(history.tolist(), start=1)]
    write_with(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))


def read_loss_tsv(path: Path) -> np.ndarray:
    """The (epochs, 3) array of epoch, train loss, test loss."""
    return np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)

"""How files are written and read: atomically (never a half-written file at a final path), as JSON, .npz
arrays, text or a TSV; and which files a run no longer wants."""

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

from tinynets.common import paths


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


def left_over(run: list[str], export: list[str]) -> list[Path]:
    """Files of datasets no longer in the run (or export list) in the folders that evaluate, plot and report
    depend on whole. DVC never removes the outputs of a stage that has left dvc.yaml, and these would count in
    the folders' hashes: a run with another dataset and back would rerun those stages and change dvc.lock."""
    wanted = {path for name in run for path in paths.of(name).in_whole_folders}
    wanted |= {path for name in export for path in paths.of(name).exported}
    folders = sorted({path.parent for path in (*paths.of("_").in_whole_folders, *paths.of("_").exported)})
    return [
        found
        for folder in folders
        if folder.is_dir()
        for found in sorted(folder.iterdir())
        if found.is_file() and not found.name.startswith(".") and found not in wanted
    ]

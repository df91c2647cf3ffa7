"""A user's own CSV file read as a table of numeric and text columns, with one-line errors that say where.

pandas parses the file (quotes, encodings, line endings); the rules are tinynets': a column is numeric
when most of its values are numbers, and then every value must be; a text column becomes categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinynets.common.errors import DataError

FIRST_ROW_LINE = 2  # line 1 is the header


@dataclass(frozen=True)
class Table:
    """The columns a dataset uses, rows with a missing value handled, values typed."""

    numeric: dict[str, np.ndarray]  # float64 columns
    text: dict[str, np.ndarray]  # str columns (categorical)
    target: np.ndarray  # float64 when numeric, else str
    lines: np.ndarray  # each row's line in the file


def _is_number(values) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(values, errors="coerce").notna().to_numpy()


def read_csv(path: Path):
    """A CSV file as a pandas frame of text cells (NaN where empty), its column names stripped, indexed by each
    row's line in the file (rows with no value at all, blank lines among them, are left out but counted)."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV file ({' '.join(str(error).split())})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    frame.index = np.arange(len(frame)) + FIRST_ROW_LINE
    return frame.dropna(how="all")


def file_lines(frame) -> np.ndarray:
    """Each row's line in the file it was read from (read_csv's index)."""
    return frame.index.to_numpy()


def check_filled(path: Path, frame, lines: np.ndarray, hint: str = "") -> None:
    """DataError at the first empty cell of `frame`, naming its column and line."""
    empty = frame.isna().to_numpy()
    if empty.any():
        row, column = np.argwhere(empty)[0]
        raise DataError(f"{path}: column {frame.columns[column]!r}, line {lines[row]}: missing value{hint}")


def numbers(path: Path, values, column: str, lines: np.ndarray) -> np.ndarray:
    """A column as float64; DataError at its first value that is not a finite number."""
    is_number = _is_number(values)
    if not is_number.all():
        row = int(np.argmin(is_number))
        raise DataError(f"{path}: column {column!r}, line {lines[row]}: {values.iloc[row]!r} is not a number")
    parsed = values.astype(np.float64).to_numpy()
    finite = np.isfinite(parsed)
    if not finite.all():
        row = int(np.argmin(finite))
        raise DataError(f"{path}: column {column!r}, line {lines[row]}: {values.iloc[row]!r} is not a finite number")
    return parsed


def check_scaled(path: Path, scaled: np.ndarray, columns: list[str], lines: np.ndarray, values) -> None:
    """DataError at the first input that scaling made infinite (beyond float32, about 3.4e38), naming where."""
    finite = np.isfinite(scaled[:, : len(columns)])
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        name = columns[column]
        raise DataError(
            f"{path}: column {name!r}, line {lines[row]}: {values[name].iloc[row]!r} is too large in magnitude for "
            "the model once scaled as its training data were (beyond float32's 3.4e38)"
        )


def read_table(path: Path, target: str, features: list[str] | None, missing: str) -> Table:
    """Read `path`; DataError naming the file and the column and line of the first problem."""
    frame = read_csv(path)
    columns = [column for column in frame.columns if column != target] if features is None else features
    for column in [target, *columns]:
        if column not in frame.columns:
            raise DataError(f"{path}: no column {column!r} (the columns are: {', '.join(frame.columns)})")
    frame = frame[[*columns, target]]
    lines = file_lines(frame)
    empty = frame.isna().to_numpy().any(axis=1)
    if missing == "error":
        check_filled(path, frame, lines, " (set data.missing: drop to leave such rows out)")
    frame, lines = frame[~empty], lines[~empty]
    if frame.empty:
        left_out = " once rows with a missing value are left out" if empty.any() else ""
        raise DataError(f"{path}: no rows to learn from{left_out}")
    numeric, text = {}, {}
    for column in columns:
        values = frame[column]
        if _is_number(values).mean() > 0.5:
            numeric[column] = numbers(path, values, column, lines)
        else:
            text[column] = values.to_numpy(dtype=str)
    target_values = frame[target]
    is_number = _is_number(target_values).all()
    target_array = target_values.astype(np.float64).to_numpy() if is_number else target_values.to_numpy(dtype=str)
    return Table(numeric, text, target_array, lines)

"""Time series as forecasting windows: a series in time order, split into train, validation and test periods,
each window the `window` steps before the `horizon` steps it forecasts.

The split is chronological and no window crosses into a later period: a window belongs to the period its
targets lie in (one that straddles two periods is left out), so no train window sees a validation or test
value, while a validation or test window reads the steps before it, as a forecast made then would. Only the
train windows are shuffled (by the training loop). The scalers fit on the train period's rows alone.

A gap filled by interpolation (`missing: interpolate`) holds a value drawn from the next observed step. A
window whose last input step is such a gap would read the step after it, its own target or later, and a
window whose target is a gap would be scored on an invented value: both are left out, so no window's inputs
hold a value from after its last input step.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinynets.common.errors import DataError
from tinynets.splits import RawData

if TYPE_CHECKING:
    from tinynets.params import TimeseriesData


@dataclass(frozen=True)
class Series:
    """A series read in time order: the target column first, then the feature columns."""

    values: np.ndarray  # (steps, columns) float64
    columns: tuple[str, ...]
    times: np.ndarray  # one label per step (the `time` column, else the step's index), as text
    origin: str  # where it came from, for the metrics' `source`
    filled: np.ndarray | None = None  # (steps, columns) bool: the values interpolated into a gap


@dataclass(frozen=True)
class Periods:
    """Where the validation and test periods start, as step indices."""

    valid_start: int
    test_start: int
    steps: int


def periods(steps: int, valid_size: float, test_size: float) -> Periods:
    """The chronological split of `steps` steps: train, then validation, then test, as shares of the timeline."""
    test_start = steps - round(steps * test_size)
    valid_start = test_start - round(steps * valid_size)
    return Periods(valid_start, test_start, steps)


def first_target(start: int, window: int) -> int:
    """The step that the first window of a period starting at `start` forecasts: the first with `window` steps
    before it (consecutive windows forecast the steps after it, one each)."""
    return max(start, window)


def windows(
    values: np.ndarray, window: int, horizon: int, start: int, stop: int, filled: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every window whose `horizon` targets (column 0) lie in steps [start, stop), but those a filled gap would
    show the future or score on an invented target: inputs (n, window, columns), targets (n, horizon), and the
    step each one's first target is."""
    targets = [
        t
        for t in range(first_target(start, window), stop - horizon + 1)
        if filled is None or not (filled[t - 1].any() or filled[t : t + horizon, 0].any())
    ]
    x = np.array([values[t - window : t] for t in targets]).reshape(len(targets), window, values.shape[1])
    y = np.array([values[t : t + horizon, 0] for t in targets]).reshape(len(targets), horizon)
    return x, y, np.array(targets, dtype=np.int64)


def split_windows(series: Series, data: TimeseriesData, name: str) -> RawData:
    """The series' train, validation and test windows, with the train period's rows to fit scalers on."""
    steps = len(series.values)
    split = periods(steps, data.split.valid_size, data.split.test_size)
    where = f"datasets.{name}.data"
    train_steps = split.valid_start
    if train_steps < data.window + data.horizon:
        raise DataError(
            f"{where}.window: {data.window} steps in and {data.horizon} ahead do not fit the train period "
            f"({train_steps} of the {steps} steps): shorten the window or give the train period more steps"
        )
    bounds = {"train": (0, split.valid_start), "valid": (split.valid_start, split.test_start)}
    bounds["test"] = (split.test_start, steps)
    parts = {}
    for period, (start, stop) in bounds.items():
        if period == "valid" and not data.split.valid_size:
            continue
        x, y, targets = windows(series.values, data.window, data.horizon, start, stop, series.filled)
        if not len(x):
            why = (
                f"fewer than the horizon ({data.horizon})"
                if stop - start < data.horizon
                else "but every window reads a filled gap or forecasts one"
            )
            raise DataError(
                f"{where}.split: the {period} period has {stop - start} steps, {why}: no window to forecast"
            )
        parts[period] = (x, y, targets)
    x_valid, y_valid, valid_targets = parts.get("valid", (None, None, None))
    return RawData(
        *parts["train"][:2],
        *parts["test"][:2],
        series.origin,
        feature_names=series.columns,
        target_names=tuple(f"{series.columns[0]}+{step}" for step in range(1, data.horizon + 1)),
        x_valid=x_valid,
        y_valid=y_valid,
        fit_rows=series.values[:train_steps],
        times=series.times,
        test_targets=parts["test"][2],  # the step each test window forecasts first (for the plots' labels)
        valid_ids=valid_targets,  # a validation window is the steps it forecasts, whatever the window's length
    )


def read_series(data: TimeseriesData) -> Series:
    """The series a timeseries source names: a CSV in data/own/ (`path`) or a statsmodels dataset (`name`)."""
    if data.path is not None:
        from tinynets.tables import read_csv

        path = Path(data.path)
        frame, origin = read_csv(path), f"csv {path}"
    else:
        frame, origin = _library_frame(data.name), f"statsmodels.datasets.{data.name}"
        path = Path(f"statsmodels.datasets.{data.name}")
    return _ordered(frame, data, path, origin)


def _library_frame(name: str):
    """A statsmodels series as text cells, as a CSV would be read; a date index becomes the column `date`."""
    import importlib

    import pandas as pd

    from tinynets.tables import FIRST_ROW_LINE

    frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.rename_axis(frame.index.name or "date").reset_index()
    frame.columns = [str(column) for column in frame.columns]
    frame.index = np.arange(len(frame)) + FIRST_ROW_LINE  # lines as if it were a CSV file, as errors name them
    return frame.astype(str).where(frame.notna())


def _ordered(frame, data: TimeseriesData, path: Path, origin: str) -> Series:
    """The target and feature columns as numbers in time order, missing values handled as `missing` says."""
    import pandas as pd

    from tinynets.tables import check_filled, file_lines, numbers

    columns = [data.target, *data.features]
    for column in [*columns, *([data.time] if data.time else [])]:
        if column not in frame.columns:
            raise DataError(f"{path}: no column {column!r} (the columns are: {', '.join(frame.columns)})")
    lines = file_lines(frame)
    if data.time:  # in time order first: a gap is filled from the steps before and after it
        order = time_order(path, frame[data.time], lines)
        frame, lines = frame.iloc[order], lines[order]
    if data.missing == "drop":
        kept = frame[columns].notna().all(axis=1).to_numpy()
        frame, lines = frame[kept], lines[kept]
    values, filled = frame[columns], None
    if data.missing == "interpolate":  # within each period: a train gap is never filled from a later period
        split = periods(len(values), data.split.valid_size, data.split.test_size)
        cuts = [0, split.valid_start, split.test_start, split.steps]
        filled = values.isna().to_numpy()
        values = pd.concat([values.iloc[start:stop].apply(interpolated) for start, stop in pairwise(cuts)])
        check_filled(path, values, lines, " (at an end of a period: interpolation needs a value on each side)")
    else:
        check_filled(path, values, lines, " (set data.missing: interpolate or drop)")
    matrix = np.column_stack([numbers(path, values[column], column, lines) for column in columns])
    times = _labels(frame[data.time]) if data.time else np.arange(len(frame)).astype(str)
    return Series(matrix, tuple(columns), times, origin, filled)


def interpolated(column):
    """A column's gaps between two values filled linearly (text that is not a number is kept, to be named)."""
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce").where(column.notna(), np.nan)
    mask = column.notna() & numeric.isna()  # text that is not a number stays, for `numbers` to name
    filled = numeric.interpolate(limit_area="inside").astype(object)
    filled[mask] = column[mask]
    return filled.where(filled.notna(), None)


def time_order(path: Path, times, lines: np.ndarray) -> np.ndarray:
    """The rows' order by their time labels; DataError for a row without a time or a time that appears twice."""
    from tinynets.tables import check_filled

    check_filled(path, times.to_frame(), lines, " (every row needs its time)")
    keys = _sortable(times)
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if repeated.size:
        row = order[repeated[0] + 1]
        raise DataError(f"{path}: column {times.name!r}, line {lines[row]}: time {times.iloc[row]} appears twice")
    return order


def _labels(times) -> np.ndarray:
    """Time labels as text; whole numbers without a decimal point (statsmodels' years are floats: 1700.0)."""
    import pandas as pd

    as_numbers = pd.to_numeric(times, errors="coerce")
    if as_numbers.notna().all() and (as_numbers % 1 == 0).all():
        return as_numbers.astype(np.int64).to_numpy().astype(str)
    return times.to_numpy(dtype=str)


def _sortable(times) -> np.ndarray:
    """Time labels as sort keys: numbers when they all are, else dates, else the text itself."""
    import pandas as pd

    as_numbers = pd.to_numeric(times, errors="coerce")
    if as_numbers.notna().all():
        return as_numbers.to_numpy()
    as_dates = pd.to_datetime(times, errors="coerce")
    if as_dates.notna().all():
        return as_dates.to_numpy()
    return times.to_numpy(dtype=str)

"""A dataset's raw split into train, test and (held out of train) validation rows, its train rows' folds for
cross-validation, and the checks on them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tinynets.common.errors import DataError
from tinynets.common.facts import DataFacts

if TYPE_CHECKING:
    from tinynets.params import Split

LEAST_FOLD_ROWS = 2  # a fold's validation rows at the least: one row has no R², no spread


@dataclass(frozen=True)
class RawData:
    """A dataset's raw split, as the source gave it, with the names the source gives its columns and classes."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    feature_names: tuple[str, ...] = ()  # one per input column; empty for images
    target_names: tuple[str, ...] = ()  # class names (classifiers) or target columns (regressors), if known
    text_train: np.ndarray | None = None  # text (categorical) input columns, one-hot encoded by featurize
    text_test: np.ndarray | None = None
    text_names: tuple[str, ...] = ()
    x_valid: np.ndarray | None = None  # rows held out of the train split to choose models on (train.valid_size)
    y_valid: np.ndarray | None = None
    text_valid: np.ndarray | None = None
    # a time series' (tinynets.series): the train period's rows, which the scalers fit on; each step's time
    # label; the step each test window forecasts first
    fit_rows: np.ndarray | None = None
    times: np.ndarray | None = None
    test_targets: np.ndarray | None = None
    valid_ids: np.ndarray | None = None  # what names each validation row apart from its inputs (a series': its step)

    def fields(self) -> dict[str, Any]:
        """Every field by name, the arrays themselves (dataclasses.asdict would copy each)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def random_split(x: np.ndarray, y: np.ndarray, split: Split, source: str, **names: tuple[str, ...]) -> RawData:
    """Rows drawn at random into train and test, as `split` declares (stratified by class on request)."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=split.test_size, random_state=split.random_state, stratify=y if split.stratify else None
    )
    return RawData(x_train, y_train, x_test, y_test, source, **names)


def hold_out(raw: RawData, share: float, seed: int, stratify: bool, name: str) -> RawData:
    """Move a share of the train split into a validation split (stratified for classes; the test split stays)."""
    from sklearn.model_selection import train_test_split

    text = raw.text_train if raw.text_train is not None else np.zeros((len(raw.x_train), 0), dtype=str)
    try:
        parts = train_test_split(
            raw.x_train,
            text,
            raw.y_train,
            test_size=share,
            random_state=seed,
            stratify=raw.y_train if stratify else None,
        )
    except ValueError as error:  # too few rows, or a class with a single train row to stratify
        raise DataError(
            f"datasets.{name}.train.valid_size: cannot hold out {share} of {len(raw.x_train)} train rows "
            f"({' '.join(str(error).split())})"
        ) from None
    x_train, x_valid, text_train, text_valid, y_train, y_valid = parts
    has_text = raw.text_train is not None
    return dataclasses.replace(
        raw,
        x_train=x_train,
        y_train=y_train,
        x_valid=x_valid,
        y_valid=y_valid,
        text_train=text_train if has_text else None,
        text_valid=text_valid if has_text else None,
    )


def check_every_class_trains(raw: RawData, name: str) -> None:
    """A class with rows to score but none to learn from is a split's accident the net cannot undo."""
    if DataFacts.of(raw.x_train, np.ravel(raw.y_train)).n_classes is None:
        return  # not class labels: the loss check names that mistake (facts.outputs_needed)
    labels = [y for y in (raw.y_test, raw.y_valid) if y is not None]
    seen = np.unique(np.concatenate([np.asarray(y).ravel() for y in labels]))
    missing = np.setdiff1d(seen, np.asarray(raw.y_train).ravel())
    if missing.size:
        label = missing[0]
        known = raw.target_names[int(label)] if str(label).isdigit() and int(label) < len(raw.target_names) else label
        raise DataError(
            f"datasets.{name}.data.split: class {known!s} has no train rows (it is only in the test or validation "
            "split): stratify the split (split.stratify: true) or give that class more rows"
        )


def folds_problem(rows: int, folds: int, fewest: int | None = None, gap: int | None = None) -> str:
    """Why `rows` train rows, stratified by class if their smallest class has `fewest` rows, cannot make `folds`
    folds (rolling-origin ones, `gap` windows apart from their train windows, if a gap is given); empty when they
    can."""
    if gap is not None:
        if _rolling_fits(rows, folds, gap):
            return ""
        fits = [count for count in range(2, min(folds, rows)) if _rolling_fits(rows, count, gap)]
        fix = f"use {fits[-1]} folds or fewer" if fits else "give the train period more steps"
        return (
            f"{folds} rolling-origin folds of {rows} train windows leave fewer than {LEAST_FOLD_ROWS} windows to "
            f"validate on in a fold, or none to train the first fold on: {fix}"
        )
    if folds * LEAST_FOLD_ROWS > rows:
        return (
            f"{folds} folds of {rows} train rows leave fewer than {LEAST_FOLD_ROWS} rows to validate on in a fold: "
            f"use {rows // LEAST_FOLD_ROWS} folds or fewer"
        )
    if fewest is not None and fewest < folds:  # a stratified fold holds every class
        fix = f"use {fewest} folds or fewer" if fewest > 1 else "give it more rows"
        return f"a class has {fewest} train rows, fewer than the {folds} folds, and each fold holds every class: {fix}"
    return ""


def _rolling_fits(rows: int, folds: int, gap: int) -> bool:
    """Whether TimeSeriesSplit's folds (each validating rows // (folds + 1) rows) hold enough rows each."""
    held = rows // (folds + 1)
    return held >= LEAST_FOLD_ROWS and rows - gap - held * folds >= 1


def fold_numbers(y: np.ndarray, folds: int, seed: int, name: str, stratify: bool, gap: int | None) -> np.ndarray:
    """Each train row's fold, 0 to folds - 1. Rows in time order (a series' windows, with a `gap`): rolling-origin
    folds, scikit-learn's TimeSeriesSplit, each fold validating the windows after the ones it trains on (`gap`
    windows between, horizon - 1, so no train window's targets are a validation window's); the first windows,
    never validated, are -1. Else scikit-learn's StratifiedKFold (`stratify`: a column of classes; each fold holds
    every class in its share) or KFold, rows shuffled by `seed`."""
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    columns = np.reshape(y, (len(y), -1))
    stratify = stratify and gap is None and columns.shape[1] == 1
    fewest = int(np.unique(columns[:, 0], return_counts=True)[1].min()) if stratify else None
    problem = folds_problem(len(y), folds, fewest, gap)
    if problem:
        raise DataError(f"datasets.{name}.data.split.folds: {problem}")
    if gap is not None:
        splitter = TimeSeriesSplit(n_splits=folds, gap=gap)
    else:
        splitter = (StratifiedKFold if stratify else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    numbers = np.full(len(y), -1, dtype=np.int64)
    for fold, (_, held) in enumerate(splitter.split(columns, columns[:, 0] if stratify else None)):
        numbers[held] = fold
    return numbers

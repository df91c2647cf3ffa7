"""What a model must fit: the data's facts, and the outputs and sizes they ask of a declared network.

One place decides what a loss makes of a dataset (a classifier or a regressor) and how many outputs the net
needs; validate, featurize, the shapes and train all ask here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinynets.common.errors import ConfigError
from tinynets.common.losses import LOSSES


def is_classifier(loss: str) -> bool:
    """Whether a loss trains a classifier (its targets are classes) rather than a regressor."""
    return LOSSES[loss].classifies


@dataclass(frozen=True)
class DataFacts:
    """What a model must fit: the shape of its inputs and the kind and number of its targets."""

    input_shape: tuple[int, ...]  # one sample's: (features,) for a table, (height, width) for images
    n_train: int
    n_targets: int  # target columns (1 for class labels)
    n_classes: int | None  # labels 0..K-1 when every target is a non-negative integer, else None
    binary: bool  # every target is 0 or 1
    labels: tuple[str, ...] = ()  # a classifier's: the source's name for each class index (a CSV's sorted labels)
    fewest: int | None = None  # class indices': the train rows of the class with fewest (what folds can hold)

    @classmethod
    def of(cls, x_train: np.ndarray, y_train: np.ndarray) -> DataFacts:
        """The facts of a train split, from its arrays."""
        y = np.asarray(y_train)
        integral = y.size > 0 and np.issubdtype(y.dtype, np.number) and bool(np.all(np.mod(y, 1) == 0))
        indices = integral and y.ndim == 1 and y.min() >= 0
        return cls(
            input_shape=tuple(int(size) for size in x_train.shape[1:]),
            n_train=len(x_train),
            n_targets=int(np.prod(y.shape[1:])),
            n_classes=int(y.max()) + 1 if indices else None,
            binary=bool(np.isin(y, (0, 1)).all()),
            fewest=int(np.unique(y, return_counts=True)[1].min()) if indices else None,
        )

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, facts: dict[str, Any]) -> DataFacts:
        return cls(**{**facts, "input_shape": tuple(facts["input_shape"]), "labels": tuple(facts.get("labels", ()))})


def class_order(name: str, classes: list[str] | None, labels: list[str] | tuple[str, ...]) -> list[int] | None:
    """Where `classes` (params' data.classes) put each of the data's labels when they name those labels in
    another order: class index by label index (None when they keep the order, or rename the labels by index).
    ConfigError when some name a label and others do not: a typo would otherwise renumber in silence."""
    if classes is None or not set(classes) & set(labels):
        return None
    if set(classes) != set(labels):  # the schema refuses a name given twice
        stranger = next((label for label in classes if label not in labels), None)
        problem = f"{stranger!r} is not" if stranger else f"{sorted(set(labels) - set(classes))[0]!r} is missing, yet"
        numbered = ", ".join(f"{label} ({index})" for index, label in enumerate(labels))
        raise ConfigError(
            f"params.yaml: datasets.{name}.data.classes: {problem} one of the data's labels, {numbered}: list "
            "those, in the order to number them, or new names for the numbers"
        )
    order = [classes.index(label) for label in labels]
    return None if order == sorted(order) else order


def renaming(classes: list[str] | None, labels: list[str] | tuple[str, ...]) -> str | None:
    """The line that says how `classes` rename the data's labels by their numbers (None: they do not)."""
    if classes is None or not labels or set(classes) & set(labels):
        return None
    pairs = ", ".join(
        f"{label} ({index}) as {new}" for index, (label, new) in enumerate(zip(labels, classes, strict=False))
    )
    return f"data.classes renames the data's labels by their numbers: {pairs}"


def outputs_needed(name: str, loss: str, facts: DataFacts) -> int:
    """How many outputs the data asks of the network under its loss (or ConfigError when they do not fit)."""
    where = f"params.yaml: datasets.{name}.train.loss"
    targets = LOSSES[loss].targets
    if targets == "classes":
        if facts.n_classes is None:
            raise ConfigError(f"{where}: {loss} needs class labels 0..K-1, but the targets are not (use mse or huber)")
        return facts.n_classes
    if targets == "binary":
        if not facts.binary:
            raise ConfigError(f"{where}: {loss} needs 0/1 targets")
        return 1
    return facts.n_targets


def class_count(name: str, loss: str, facts: DataFacts) -> int:
    """How many classes a classifier tells apart: two under a binary loss (its one output scores the second
    class), else one per output."""
    return 2 if LOSSES[loss].targets == "binary" else outputs_needed(name, loss, facts)


def input_kind(source: str) -> str:
    """What a dataset's samples are, by its source: "images" (torchvision's), "windows" (a series' steps), or
    "rows" of a table. The one rule for whatever draws, keeps or reads images; a forecast's windows have
    the same rank."""
    return {"torchvision": "images", "timeseries": "windows"}.get(source, "rows")


def is_plane(x: Any) -> bool:
    """Whether inputs (an array or tensor of rows) are points of a plane: two features, a figure's two axes."""
    return x.ndim == 2 and x.shape[1] == 2


NETWORK_FIGURE_UNITS = 100  # network.png draws an MLP of at most this many units, inputs and outputs included


def network_figure_skipped(layers: list[int] | None) -> str | None:
    """Why network.png is not drawn for a model (None: it is): only an MLP small enough to read is."""
    if layers is None:
        return "drawn for `layers` MLPs only"
    if sum(layers) > NETWORK_FIGURE_UNITS:
        return f"{sum(layers)} units, more than the {NETWORK_FIGURE_UNITS} a drawing of every weight can show legibly"
    return None

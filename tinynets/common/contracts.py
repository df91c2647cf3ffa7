"""What passes between stages as JSON, each file's keys declared once: written and read only through here, checked
when read. A file of another layout (an older tinynets wrote it) is refused in one line; a read of a key its
layout does not declare is a bug in tinynets, and fails at once rather than reading None."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinynets.common import files
from tinynets.common.errors import DataError


class UndeclaredKey(Exception):
    """A key read from a file whose layout does not declare it (a typo, or a key no stage writes): not a
    KeyError, which a reader's own `except KeyError` would swallow."""


@dataclass(frozen=True)
class Layout:
    """A file's keys: those every copy holds, and those some hold (a regressor's target scaler, say)."""

    what: str
    required: frozenset[str]
    optional: frozenset[str] = frozenset()

    def mismatch(self, data: dict[str, Any]) -> str | None:
        """What sets `data` apart from this layout (a required key missing, or one it does not declare), or None."""
        missing = sorted(self.required - data.keys())
        unknown = sorted(data.keys() - self.required - self.optional)
        return f"no {missing[0]!r}" if missing else f"an unknown {unknown[0]!r}" if unknown else None


class Record(dict):
    """A file's contents as read through its layout: reading an undeclared key raises UndeclaredKey. Its top
    level only, and only while it is a Record (a copy by dict(), ** or | is a plain dict)."""

    def __init__(self, layout: Layout, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.layout = layout

    def _declared(self, key: object) -> None:
        if key not in self.layout.required and key not in self.layout.optional:
            raise UndeclaredKey(f"{key!r} is not a key of {self.layout.what} (tinynets.common.contracts)")

    def __getitem__(self, key: str) -> Any:
        self._declared(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._declared(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._declared(key)
        return super().__contains__(key)


FEATURE_INFO = Layout(
    "featurize's description of the features",
    required=frozenset(
        {
            "source",  # where the data came from, as reports name it
            "inputs",  # images, windows or rows
            "columns",  # the raw input columns, as a file to predict on names them
            "target_column",  # a CSV's target (allowed and ignored in a file to predict on), else None
            "text_columns",  # the text columns one-hot encoded
            "input_shape",  # one sample's shape
            "scaler",  # the fitted input scaler's stats
            "categories",  # each text column's categories, as fitted on train
            "feature_names",  # the network's input columns (a table's), else empty
            "train_rows",  # a digest of the train split's rows: what cross-validation validates on
            "facts",  # DataFacts.as_dict()
            "made_from",  # the prepare settings' digest: validate tells stale facts by it
        }
    ),
    optional=frozenset(
        {
            "target_names",  # a regressor's target columns
            "target_scaler",  # a regressor's fitted target scaler
            "valid_rows",  # a digest of the validation split's rows, where there is one
            "forecast",  # a series' horizon, window and time facts
            "classes",  # a classifier's class names, by index
        }
    ),
)


def write(layout: Layout, path: Path, data: dict[str, Any]) -> None:
    """Write `data` as `path`'s JSON, checked against its layout first (a mismatch is a bug in tinynets)."""
    found = layout.mismatch(data)
    if found is not None:
        raise RuntimeError(f"{path}: {layout.what} written with {found} (tinynets.common.contracts)")
    files.write_json(path, data)


def read(layout: Layout, path: Path) -> Record:
    """`path`'s JSON, checked against its layout; DataError in one line when it is of another (or no JSON)."""
    try:
        data = files.read_json(path)
    except ValueError:  # truncated or not JSON at all
        data = None
    found = layout.mismatch(data) if isinstance(data, dict) else "not a JSON object"
    if found is not None:
        raise DataError(f"{path}: {layout.what} of another layout ({found}): run `dvc repro` to write it anew")
    return Record(layout, data)

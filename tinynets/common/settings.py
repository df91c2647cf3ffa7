"""Each stage's settings as plain data: resolved by the validate stage (every default filled in), then read back.

DVC sees a setting only in a file that a stage depends on. params.yaml leaves defaults out, and a default in
the schema's code reaches no lock file, so validate writes what each stage reads into settings/, and the stages
read only that, never params.yaml nor the schema: a changed default reruns exactly the datasets it changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class Settings(Mapping):
    """A read-only view of JSON data: a section's fields as attributes, as the schema's objects have them
    (`train.optimizer.name`); a free-form table such as `data.kwargs` as a mapping of plain values."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # not a field: what copy and pickle look for on an object not yet filled
            raise AttributeError(key)
        try:
            return _view(self._data[key])
        except KeyError:
            raise AttributeError(key) from None

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return Settings, (self._data,)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only (tried to set {key!r})")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Settings({self._data!r})"


def _view(value: Any) -> Any:
    if isinstance(value, dict):
        return Settings(value)
    if isinstance(value, list):
        return tuple(_view(item) for item in value)
    return value


def plain(section: Any) -> dict[str, Any]:
    """A section as plain JSON data, from a Settings view or a params.yaml schema object."""
    if isinstance(section, Settings):
        return json.loads(json.dumps(section._data))
    return section.model_dump(mode="json")


def read(path: Path) -> Settings:
    """The settings the validate stage wrote to `path`."""
    return Settings(json.loads(path.read_text()))


def digest(data: Any) -> str:
    """sha256 of JSON data, independent of key order."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

"""A search's summary, search/<dataset>.json: its layout, checked whenever it is read (the plot and report stages
read it only where a search has run, so their start-up pays for pydantic only then)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tinynets.common.errors import DataError
from tinynets.params import Distribution
from tinynets.rules import error_line, one_line

SUMMARY_FORMAT = 1  # search/<dataset>.json's layout: a summary of another is refused, not misread


class SearchTrial(BaseModel):
    """One trial of a search's summary."""

    model_config = ConfigDict(extra="forbid")
    number: int
    experiment: str
    state: Literal["complete", "pruned", "fail"]
    value: float | None
    params: dict[str, Any]
    error: str


class SearchSummary(BaseModel):
    """search/<dataset>.json, as tinynets search writes it: what the plot and report stages read."""

    model_config = ConfigDict(extra="forbid")
    format: Literal[SUMMARY_FORMAT]
    dataset: str
    study: str
    sampler: str
    pruner: str
    metric: str
    direction: Literal["minimize", "maximize"]
    space: dict[str, Distribution]
    trials: list[SearchTrial]
    best: int | None
    importance: dict[str, float]

    @model_validator(mode="after")
    def _params_in_space(self) -> SearchSummary:
        for trial in self.trials:
            for path, value in trial.params.items():
                if path not in self.space:
                    raise ValueError(f"trial {trial.number} sets {path}, which its space does not search")
                if self.space[path].type == "choice" and value not in self.space[path].values:
                    raise ValueError(f"trial {trial.number}'s {path} is {value!r}, not one of its choices")
        return self


def check_summary(path: Path, name: str, data: bytes, at: str = "", fix: str = "") -> dict[str, Any]:
    """The summary in `data` (from `path`, `at` a commit), as this version reads it; refused in one line, with
    the `fix`, when it cannot."""
    try:
        return SearchSummary.model_validate_json(data).model_dump()
    except ValidationError as error:
        invalid = error.errors()[0]["type"] == "json_invalid"
        reason = "not JSON" if invalid else error_line(error).removeprefix("params.yaml: ")
        raise DataError(
            one_line(f"{at}{path}: not a search summary this version reads ({reason}): "
                     f"{fix or f'run `tinynets search {name}` again, or delete it'}")
        ) from None  # fmt: skip

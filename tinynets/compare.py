"""`tinynets compare`: one dataset's experiments, read through DVC's own API (tinynets.experiments), ranked on
their validation metric when they were measured alike, with whether the best one's lead is larger than noise
(tinynets.ranking), as a table; `--apply` makes the best the workspace's."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinynets import experiments, measures
from tinynets.common.errors import DataError
from tinynets.experiments import WORKSPACE, Experiment, read_experiments
from tinynets.ranking import (
    Ranked,
    best_set,
    better,
    column_name,
    differing,
    label,
    mase_scale,
    metric_values,
    rank,
    verdict,
)


@dataclass(frozen=True)
class Comparison:
    """A dataset's experiments ranked on `metric`, the params that tell them apart, the verdict on the top two."""

    dataset: str
    metric: str
    keys: list[str]
    entries: list[Ranked]
    verdict: str
    commits: bool = False  # whether the rows come from several commits: each row's is shown
    best: tuple[str, ...] = ()  # the experiments that cannot be told from the best (ranking.best_set), by name

    def table(self, markdown: bool = False) -> str:
        """The ranking as aligned text, or as a Markdown table; why a row is not ranked is a numbered note under
        it (one note for the rows that share a reason), so that the table fits a terminal."""
        params = [column_name(key, self.dataset) for key in self.keys]
        header = ["rank", "experiment", *(["commit"] if self.commits else []), *params]
        header += [f"valid {self.metric}", "n", f"test {self.metric}", "not ranked"]
        notes = list(dict.fromkeys(entry.reason for entry in self.entries if entry.reason))
        footer = "".join(f"{'- ' * markdown}({number}) {note}\n" for number, note in enumerate(notes, start=1))
        lines, place = [], 0
        for entry in self.entries:
            row = entry.experiment
            place += not entry.reason
            shown = "1" if row.name in self.best else str(place)  # tied with the best
            commit = [row.commit[:7] if row.kind != WORKSPACE else ""] if self.commits else []
            cells = ["-" if entry.reason else shown, row.name, *commit]
            cells += [_value(row.params.get(key)) for key in self.keys]
            mark = "*" if entry.rescaled != 1.0 else ""  # a MASE on another train period's scale (scale_line)
            cells += [_mean_std(entry.valid) + mark, _count(entry)]
            cells.append(_mean_std(entry.test) + mark if entry.test else "")
            lines.append([*cells, f"({notes.index(entry.reason) + 1})" if entry.reason else ""])
        if not notes:
            header, lines = header[:-1], [cells[:-1] for cells in lines]
        footer = f"\n{footer}" if footer else ""
        if markdown:
            rows = [header, ["---"] * len(header), *lines]
            return "".join("| " + " | ".join(cells) + " |\n" for cells in rows) + footer
        widths = [max(len(cells[index]) for cells in [header, *lines]) for index in range(len(header))]
        aligned = (
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            for cells in [header, *lines]
        )
        return "".join(line.rstrip() + "\n" for line in aligned) + footer


def _count(entry: Ranked) -> str:
    """How many figures stand behind its validation value: seeds, or seeds x folds with cross-validation."""
    if not entry.valid:
        return ""
    folds = (entry.experiment.scores or {}).get("valid", {}).get("folds")
    return f"{len(entry.valid)}x{folds}" if folds else str(len(entry.valid))


def _value(value: Any) -> str:
    return "" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)


def _mean_std(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.fmean(values):.4g} ± {statistics.stdev(values):.2g}"


def known_datasets(rows: list[Experiment]) -> set[str]:
    """The datasets any experiment's params.yaml declares."""
    return {key.split(".")[1] for row in rows for key in row.params if key.startswith("datasets.")}


def default_metric(rows: list[Experiment]) -> str:
    """The first headline metric of the results' task: accuracy for a classifier, MAE for a regressor or a
    forecast."""
    tasks = {measures.task_of_scores(row.scores) for row in rows if row.scores}
    ordered = (measures.CLASSIFIER, measures.REGRESSOR, measures.FORECAST)
    task = next((task for task in ordered if task in tasks), measures.REGRESSOR)
    return measures.headline_of(task)[0].name


def compare(
    root: Path, dataset: str, metric: str | None = None, all_commits: bool = False, only: set[str] | None = None
) -> Comparison:
    """`dataset`'s experiments (`only` those named, if given) ranked on their validation `metric`, and the noise
    verdict on the top two."""
    rows, head = read_experiments(root, dataset, all_commits)
    if dataset not in known_datasets(rows):
        names = ", ".join(sorted(known_datasets(rows))) or "none"
        raise DataError(f"unknown dataset {dataset!r}: params.yaml declares {names}")
    rows = [row for row in rows if only is None or row.name in only]
    if not any(row.scores for row in rows):
        raise DataError(f"no experiment has results for {dataset} yet: run `dvc repro` or `dvc exp run` first")
    metric = metric or default_metric(rows)
    better(metric)
    if not any(
        metric_values(row.scores or {}, metric) or metric_values((row.scores or {}).get("valid", {}), metric)
        for row in rows
    ):
        raise DataError(f"no experiment of {dataset} records {metric!r}")
    keys = differing(rows, dataset)
    entries = rank(rows, dataset, metric, head, all_commits)
    ranked, best = [entry for entry in entries if not entry.reason], ()
    if len(ranked) >= 2:  # named by what differs between the ranked ones (not what all of them set)
        keys_ranked = differing([entry.experiment for entry in ranked], dataset)
        said = verdict(*ranked[:2], metric, keys_ranked, dataset)
        tied = best_set(ranked, metric)
        best = tuple(entry.experiment.name for entry in tied)
        folded = any("folds" in (entry.experiment.scores or {})["valid"] for entry in ranked)
        holm = f"Holm over the best against each at 5%, t over {'folds where alike, else ' * folded}seeds"
        if len(tied) > 1:
            labels = [label(entry.experiment, keys_ranked, dataset) for entry in tied]
            named = ", ".join(
                f"{shown} ({entry.experiment.name})" if labels.count(shown) > 1 else shown
                for shown, entry in zip(labels, tied, strict=True)
            )
            said += f"\n{len(tied)} of {len(ranked)} share first place, none told apart from the best: {named} ({holm})"
        elif len(ranked) > 2:
            said += f"\nthe best is told apart from all {len(ranked) - 1} others ({holm})"
        said += scale_line(ranked)
    elif ranked:
        said = f"only {ranked[0].experiment.name} can be ranked: nothing to compare it with"
    else:
        said = f"no experiment of {dataset} can be ranked ({entries[0].experiment.name}: {entries[0].reason})"
    commits = len({entry.experiment.commit for entry in entries if entry.experiment.kind != WORKSPACE}) > 1
    return Comparison(dataset, metric, keys, entries, said, commits, best)


def scale_line(ranked: list[Ranked]) -> str:
    """A line saying which MASE figures were put on another train period's scale (ranking.on_one_scale); none
    when every one is on its own."""
    moved = [entry for entry in ranked if entry.rescaled != 1.0]
    if not moved:
        return ""
    shown = next(entry for entry in ranked if entry.rescaled == 1.0 and mase_scale(entry) is not None)
    names = ", ".join(f"{entry.experiment.name} (x{entry.rescaled:.5g})" for entry in moved)  # 1.0001 at least
    return (
        f"\n* MASE on one scale, the naive error of {shown.experiment.name}'s train period "
        f"({mase_scale(shown):.4g}): {names} trained on another period, their MASE rescaled to it (MAE over one "
        "scale ranks as MAE does)"
    )


def apply_best(root: Path, comparison: Comparison) -> str:
    """`dvc exp apply` the best ranked experiment (tinynets.experiments.apply says when it refuses)."""
    ranked = [entry for entry in comparison.entries if not entry.reason]
    if not ranked:
        raise DataError("no ranked experiment to apply")
    finished = [  # the finished ones: a queued one's stash is no place to keep work
        entry.experiment.rev
        for entry in comparison.entries
        if entry.experiment.kind == "experiment" and entry.experiment.status == "done"
    ]
    said = experiments.apply(root, ranked[0].experiment, finished)
    if len(comparison.best) > 1:  # its own line: the one above is what scripts read
        others = len(comparison.best) - 1
        said += f"\nit shares first place with {others} other{'s' * (others > 1)}: the best mean, not a lead told apart"
    return said

"""`tinynets compare`: one dataset's experiments, read from DVC's own records, ranked on their validation figure
(test figures are shown, never used to choose) when they were measured alike, with whether the best one's lead
over the runner-up is larger than noise (tinynets.noise); `--apply` makes the best the workspace's."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinynets import noise
from tinynets.common.errors import DataError

HIGHER_IS_BETTER = ("accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc", "r2")
LOWER_IS_BETTER = ("mae", "rmse", "mse", "mase", "loss")
NOISE_P = 0.05  # below it, a lead is called unlikely to be noise
WORKSPACE = "workspace"
# The figures whose noise test resamples per-row values (data/predictions/<ds>.npz, `valid_rows_*`): the
# figure is the mean of those values over the rows, then `finish`ed
ROW_VALUES = {"accuracy": "correct", "mae": "abs_error", "mase": "abs_error", "mse": "sq_error", "loss": "loss"}
ROW_VALUES |= {"rmse": "sq_error"}


@dataclass(frozen=True)
class Experiment:
    """One row of DVC's experiment records: where it is, its params, one dataset's metrics (None: none)."""

    name: str  # "workspace", an experiment's name, or a commit's branch or short rev
    rev: str
    kind: str  # "workspace", "commit" or "experiment"
    status: str  # "done", "queued", "running" or "failed"
    params: dict[str, Any] = field(default_factory=dict)  # params.yaml, flattened: "datasets.iris.train.lr" -> 0.03
    scores: dict[str, Any] | None = None
    baseline: str = ""  # an experiment's: the commit it was run from

    @property
    def commit(self) -> str:
        """The commit the results belong to: an experiment's baseline, a commit's own."""
        return self.baseline or self.rev


def flattened(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as one level: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flattened(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _row(state: Any, name: str, kind: str, status: str, dataset: str, baseline: str = "") -> Experiment:
    data = state.data
    params = (data.params.get("params.yaml") or {}).get("data") or {} if data else {}
    metrics = (data.metrics.get(f"metrics/{dataset}.json") or {}).get("data") if data else None
    if status != "done":  # a failed experiment still carries its baseline's committed metrics
        metrics = None
    return Experiment(name, state.rev, kind, status, flattened(params), metrics or None, baseline)


@contextmanager
def dvc_repo(root: Path) -> Iterator[Any]:
    """DVC's Repo at `root`; its errors become one line (a lock held by a running `dvc`, say)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            yield repo
    except DvcException as error:
        raise DataError(f"dvc: {error}") from None


def records(root: Path, dataset: str) -> tuple[list[Experiment], str]:
    """Every experiment DVC knows here (the workspace, HEAD and each branch's commit and their experiments,
    queued and failed ones too), with `dataset`'s metrics; and HEAD's commit."""
    with dvc_repo(root) as repo:
        states = repo.experiments.show(revs=["HEAD"], all_branches=True)  # HEAD too when it is detached
        head = repo.scm.get_rev()
    rows = []
    for state in states:
        kind = WORKSPACE if state.rev == WORKSPACE else "commit"
        rows.append(_row(state, state.name or state.rev[:7] if kind == "commit" else WORKSPACE, kind, "done", dataset))
        for run in state.experiments or []:
            status = {"success": "done"}.get(run.executor.state, run.executor.state) if run.executor else "done"
            latest = run.revs[0]
            name = run.name or latest.name or latest.rev[:7]
            rows.append(_row(latest, name, "experiment", status, dataset, baseline=state.rev))
    return _distinct(rows), head


def _distinct(rows: list[Experiment]) -> list[Experiment]:
    """The rows without a workspace that only repeats another row (the same params and metrics: the checked-out
    commit's, or after `dvc exp run` or `dvc exp apply` an experiment's)."""
    seen = {_identity(row) for row in rows if row.kind != WORKSPACE and row.scores}
    return [row for row in rows if not (row.kind == WORKSPACE and row.scores and _identity(row) in seen)]


def _identity(row: Experiment) -> str:
    return json.dumps([row.params, row.scores], sort_keys=True, default=str)


def better(metric: str) -> int:
    """+1 when a larger figure is better, -1 when a smaller one is."""
    if metric in HIGHER_IS_BETTER:
        return 1
    if metric in LOWER_IS_BETTER:
        return -1
    raise DataError(
        f"{metric!r} is not a metric tinynets compares on: use one of {', '.join(HIGHER_IS_BETTER + LOWER_IS_BETTER)}"
    )


def figures(block: dict[str, Any], metric: str) -> list[float]:
    """A split's per-seed figures of `metric`, in seed order (one figure without train.repeats); none when it
    lacks it."""
    per_seed = block.get("per_seed", {}).get(metric)
    if per_seed:
        return [float(per_seed[seed]) for seed in sorted(per_seed, key=int)]
    return [float(block[metric])] if isinstance(block.get(metric), int | float) else []


@dataclass(frozen=True)
class Ranked:
    """An experiment's place: its validation figures (per seed) and test figures, or why it is not ranked."""

    experiment: Experiment
    valid: list[float]
    test: list[float]
    reason: str = ""  # why it is not ranked; empty when it is


def rank(rows: list[Experiment], dataset: str, metric: str, head: str = "", all_commits: bool = False) -> list[Ranked]:
    """Every row, the ranked ones first, best first on the mean validation figure; then the others, each with
    the reason it is not ranked. Only figures measured alike are ranked: on the same validation rows, a loss
    in the same units, and (unless `all_commits`) experiments of the commit `head`."""
    direction = better(metric)
    candidates, unranked = [], []
    for row in rows:
        scores = row.scores or {}
        valid, test = figures(scores.get("valid", {}), metric), figures(scores, metric)
        reason = _unrankable(row, dataset, metric, head if not all_commits else "")
        if reason or not valid:
            unranked.append(Ranked(row, valid, test, reason or f"records no validation {metric}"))
        else:
            candidates.append(Ranked(row, valid, test))
    ranked, apart = _measured_alike(candidates, metric)
    # a tie goes to the lower mean validation loss where all have the same loss function; a regressor's MSE else
    same_loss = len({_measure(entry, "loss")[1] for entry in ranked}) == 1
    ranked.sort(key=lambda entry: (-direction * statistics.fmean(entry.valid), _tie_break(entry, same_loss)))
    return ranked + apart + unranked


def _unrankable(row: Experiment, dataset: str, metric: str, head: str) -> str:
    """Why a row cannot be ranked at all (empty when it can)."""
    scores = row.scores or {}
    if row.status != "done":
        return {"failed": f"failed: `dvc queue logs {row.name}` says why"}.get(row.status, row.status)
    if row.kind == WORKSPACE and scores:  # its results need not be its params': it is no record
        return "uncommitted changes, its results maybe stale: `dvc exp run` makes them an experiment"
    if not scores:
        return f"no results for {dataset}"
    if head and row.commit != head:
        return f"run from commit {row.commit[:7]}, not HEAD (--all-commits ranks it too)"
    if "valid" not in scores:  # a series validates on a period of its timeline, a table on held-out rows
        setting = "data.split.valid_size" if "forecast" in scores else "train.valid_size"
        return f"no validation split (set datasets.{dataset}.{setting})"
    return ""


def _measure(entry: Ranked, metric: str) -> tuple[Any, Any]:
    """What must match for two validation figures to be compared: the rows, and for a loss its units."""
    valid = (entry.experiment.scores or {})["valid"]
    return valid.get("rows"), valid.get("loss_units") if metric == "loss" else None


def _measured_alike(entries: list[Ranked], metric: str) -> tuple[list[Ranked], list[Ranked]]:
    """The entries measured like the largest group of them (of equal ones, the first DVC lists: their figures
    cannot choose, as they are not comparable), and the others, each with why it is not comparable."""
    groups: dict[tuple[Any, Any], list[Ranked]] = {}
    for entry in entries:
        groups.setdefault(_measure(entry, metric), []).append(entry)
    if len(groups) < 2:
        return entries, []
    key = max(groups, key=lambda k: len(groups[k]))  # the first of the largest
    reference, apart = groups[key][0].experiment.name, []
    for other, members in groups.items():
        if other == key:
            continue
        if other[0] != key[0]:
            why = f"validated on other rows than {reference} (its seed, valid_size or data differ): not comparable"
        else:
            instead = "accuracy" if "accuracy" in (members[0].experiment.scores or {}) else "mse"
            why = f"its loss ({other[1]}) is not {reference}'s ({key[1]}): rank on {instead}"
        apart += [Ranked(entry.experiment, entry.valid, entry.test, why) for entry in members]
    return groups[key], apart


def _tie_break(entry: Ranked, same_loss: bool) -> float:
    scores = (entry.experiment.scores or {}).get("valid", {})
    if "accuracy" in scores and not same_loss:
        return 0.0
    losses = figures(scores, "loss" if "accuracy" in scores else "mse")
    return statistics.fmean(losses) if losses else math.inf


def differing(rows: list[Experiment]) -> list[str]:
    """The params whose values differ between the rows that have results, in params.yaml's order."""
    present = [row for row in rows if row.scores]
    keys = list(dict.fromkeys(key for row in present for key in row.params))
    return [key for key in keys if len({json.dumps(row.params.get(key), default=str) for row in present}) > 1]


def label(row: Experiment, keys: list[str], dataset: str) -> str:
    """An experiment named by the params it changes: "lr 0.03" (its name when none differ)."""
    parts = [f"{short(key, dataset)} {row.params.get(key)}" for key in keys]
    return ", ".join(parts) or row.name


def short(key: str, dataset: str) -> str:
    """A param's name without the compared dataset's prefix, and without train. or model. (lr, not
    datasets.iris.train.lr)."""
    key = key.removeprefix(f"datasets.{dataset}.")
    for section in ("train.", "model.", "data."):
        key = key.removeprefix(section)
    return key


def seeds(entry: Ranked, metric: str) -> list[str]:
    """The seeds behind an experiment's validation figures, in the order its per-row values hold them."""
    per_seed = (entry.experiment.scores or {})["valid"].get("per_seed", {}).get(metric)
    return sorted(per_seed, key=int) if per_seed else [str(entry.experiment.params.get("seed"))]


def verdict(
    best: Ranked,
    runner_up: Ranked,
    metric: str,
    keys: list[str],
    dataset: str,
    rows: tuple[np.ndarray, np.ndarray] | None,
) -> str:
    """Whether the best one's lead is larger than the noise of seeds and validation rows, in a sentence a learner
    reads; `rows` holds each side's per-seed, per-row values of the metric (None: not recorded)."""
    winner, other = label(best.experiment, keys, dataset), label(runner_up.experiment, keys, dataset)
    if winner == other:
        winner, other = f"{winner} ({best.experiment.name})", f"{other} ({runner_up.experiment.name})"
    lead = better(metric) * (statistics.fmean(best.valid) - statistics.fmean(runner_up.valid))
    leads = f"{winner} leads {other} by {lead:.3g} in validation {metric}"
    if metric not in ROW_VALUES:
        tested = ", ".join(ROW_VALUES)
        return f"{leads}; {metric} is no mean over rows, so there is no noise test on it: rank on {tested} for one"
    if rows is None:
        return f"{leads}; their per-row validation results are not recorded: run them again to test the lead"
    if lead == 0:
        return f"{winner} ties with {other} in validation {metric}"
    finish = _finish(best, metric)
    found = noise.paired_bootstrap(*rows, paired_seeds=seeds(best, metric) == seeds(runner_up, metric), finish=finish)
    seen = f"{winner} beats {other} by {lead:.3g} ± {found.error:.2g} in validation {metric}, p = {found.pvalue:.2g}"
    if min(len(best.valid), len(runner_up.valid)) < 2:
        repeats = f"datasets.{dataset}.train.repeats"
        return f"{seen}, counting the validation rows but not seed noise: set {repeats} to 3 or more"
    if found.pvalue < NOISE_P:
        return f"{seen}: unlikely to be noise"
    return f"{seen}: within the noise of seeds and validation rows"


def _finish(entry: Ranked, metric: str) -> Any:
    """What turns a mean of the per-row values into the figure: RMSE's root, MASE's scale (the train period's,
    shared by series validated on the same rows)."""
    if metric == "rmse":
        return np.sqrt
    if metric == "mase":
        valid = (entry.experiment.scores or {})["valid"]
        return lambda mae: mae * (valid["mase"] / valid["mae"])
    return np.asarray


def row_values(root: Path, row: Experiment, dataset: str, metric: str) -> np.ndarray | None:
    """An experiment's per-seed, per-row validation values of `metric` (seeds, rows), read from its
    data/predictions/<dataset>.npz through DVC; None when it holds none."""
    import io

    import dvc.api
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(f"data/predictions/{dataset}.npz", repo=str(root), rev=row.rev, mode="rb") as file:
            arrays = np.load(io.BytesIO(file.read()))
    except (DvcException, FileNotFoundError):
        return None
    key = f"valid_rows_{ROW_VALUES[metric]}"
    return arrays[key] if key in arrays.files else None


@dataclass(frozen=True)
class Comparison:
    """A dataset's experiments ranked on `metric`, the params that tell them apart, the verdict on the top two."""

    dataset: str
    metric: str
    keys: list[str]
    entries: list[Ranked]
    verdict: str
    commits: bool = False  # whether the rows come from several commits: each row's is shown

    def table(self, markdown: bool = False) -> str:
        """The ranking as aligned text, or as a Markdown table."""
        params = [short(key, self.dataset) for key in self.keys]
        header = ["rank", "experiment", *(["commit"] if self.commits else []), *params]
        header += [f"valid {self.metric}", "n", f"test {self.metric}", "not ranked"]
        lines, place = [], 0
        for entry in self.entries:
            row = entry.experiment
            place += not entry.reason
            commit = [row.commit[:7] if row.kind != WORKSPACE else ""] if self.commits else []
            cells = ["-" if entry.reason else str(place), row.name, *commit]
            cells += [_value(row.params.get(key)) for key in self.keys]
            cells += [_mean_std(entry.valid), str(len(entry.valid)) if entry.valid else "", _mean_std(entry.test)]
            lines.append([*cells, entry.reason])
        if not any(entry.reason for entry in self.entries):
            header, lines = header[:-1], [cells[:-1] for cells in lines]
        if markdown:
            return "".join("| " + " | ".join(cells) + " |\n" for cells in [header, ["---"] * len(header), *lines])
        widths = [max(len(cells[index]) for cells in [header, *lines]) for index in range(len(header))]
        aligned = (
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            for cells in [header, *lines]
        )
        return "".join(line.rstrip() + "\n" for line in aligned)


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
    """Accuracy for a classifier, MAE for a regressor or a forecast (whichever the results record)."""
    return "accuracy" if any("accuracy" in (row.scores or {}) for row in rows) else "mae"


def compare(root: Path, dataset: str, metric: str | None = None, all_commits: bool = False) -> Comparison:
    """`dataset`'s experiments ranked on their validation `metric`, and the noise verdict on the top two."""
    rows, head = records(root, dataset)
    if dataset not in known_datasets(rows):
        names = ", ".join(sorted(known_datasets(rows))) or "none"
        raise DataError(f"unknown dataset {dataset!r}: params.yaml declares {names}")
    if not any(row.scores for row in rows):
        raise DataError(f"no experiment has results for {dataset} yet: run `dvc repro` or `dvc exp run` first")
    metric = metric or default_metric(rows)
    better(metric)
    if not any(
        figures(row.scores or {}, metric) or figures((row.scores or {}).get("valid", {}), metric) for row in rows
    ):
        raise DataError(f"no experiment of {dataset} records {metric!r}")
    keys = differing(rows)
    entries = rank(rows, dataset, metric, head, all_commits)
    ranked = [entry for entry in entries if not entry.reason]
    if len(ranked) >= 2:  # named by what differs between the ranked ones (not what all of them set)
        top, values = ranked[:2], None
        if metric in ROW_VALUES:
            best, second = (row_values(root, entry.experiment, dataset, metric) for entry in top)
            values = (best, second) if best is not None and second is not None else None
        said = verdict(*top, metric, differing([entry.experiment for entry in ranked]), dataset, values)
    elif ranked:
        said = f"only {ranked[0].experiment.name} can be ranked: nothing to compare it with"
    else:
        said = f"no experiment of {dataset} can be ranked ({entries[0].experiment.name}: {entries[0].reason})"
    commits = len({entry.experiment.commit for entry in entries if entry.experiment.kind != WORKSPACE}) > 1
    return Comparison(dataset, metric, keys, entries, said, commits)


def apply_best(root: Path, comparison: Comparison) -> str:
    """`dvc exp apply` the best ranked experiment, so params.yaml and the outputs are its own; refuses, naming
    them, when it would lose uncommitted changes to git-tracked files or outputs that differ from dvc.lock."""
    ranked = [entry for entry in comparison.entries if not entry.reason]
    if not ranked:
        raise DataError("no ranked experiment to apply")
    best = ranked[0].experiment
    with dvc_repo(root) as repo:
        staged, unstaged, _ = repo.scm.status(untracked_files="no")
        changed = sorted({*unstaged, *(path for paths in staged.values() for path in paths)})
        experiments = [  # the finished ones: a queued one's stash is no place to keep work
            entry.experiment.rev
            for entry in comparison.entries
            if entry.experiment.kind == "experiment" and entry.experiment.status == "done"
        ]
        if changed and not any(_saved_in(repo, rev, root, changed) for rev in experiments):
            raise DataError(f"--apply would overwrite uncommitted changes to {_listed(changed)}: commit or stash them")
        edited = _edited_outputs(repo.status())
        if edited:
            raise DataError(
                f"--apply would overwrite {_listed(edited)}, which differ from dvc.lock: keep them with "
                "`dvc exp save`, or restore dvc.lock's with `dvc checkout`"
            )
        head = repo.scm.get_rev()
        if best.kind == "commit":
            if best.rev == head:
                return f"the best is {best.name}, the checked-out commit: nothing to apply"
            raise DataError(
                f"the best is commit {best.name}: `git checkout {best.name} && dvc checkout` makes it yours"
            )
        if best.baseline != head:
            raise DataError(f"{best.name} was run from commit {best.baseline[:7]}: check that out first, then --apply")
        repo.experiments.apply(best.rev)
    return f"applied {best.name}: params.yaml and the outputs are its own"


def _saved_in(repo: Any, rev: str, root: Path, paths: list[str]) -> bool:
    """Whether commit `rev` holds each of `paths` as the workspace does: after `dvc exp run` the workspace's
    changes are that experiment's, saved in its commit, and nothing is lost."""
    files = repo.scm.get_fs(rev)
    try:
        return all(files.cat_file(path) == (root / path).read_bytes() for path in paths)
    except FileNotFoundError:
        return False


def _edited_outputs(status: dict[str, Any]) -> list[str]:
    """The outputs whose workspace copy differs from dvc.lock (edited, or written outside `dvc repro`): work an
    apply would lose. A changed dependency (params.yaml) or a deleted output loses nothing."""
    edited = []
    for changes in status.values():
        for change in changes:
            if isinstance(change, dict):
                outs = change.get("changed outs", {})
                edited += [path for path, state in outs.items() if state == "modified"]
    return sorted(set(edited))


def _listed(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")

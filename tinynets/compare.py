"""`tinynets compare`: one dataset's experiments, read from DVC's own records, ranked on their validation figure
(test figures are shown, never used to choose), with whether the best one's lead over the runner-up is larger
than the spread over seeds (Welch's t-test on the per-seed figures); `--apply` makes the best the workspace's."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinynets.common.errors import DataError

HIGHER_IS_BETTER = ("accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc", "r2")
LOWER_IS_BETTER = ("mae", "rmse", "mse", "mase", "loss")
NOISE_P = 0.05  # below it, a lead is called unlikely to be seed noise
WORKSPACE = "workspace"


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


def records(root: Path, dataset: str) -> list[Experiment]:
    """Every experiment DVC knows here (the workspace, HEAD and each branch's commit and their experiments,
    queued and failed ones too), with `dataset`'s metrics."""
    with dvc_repo(root) as repo:
        states = repo.experiments.show(revs=["HEAD"], all_branches=True)  # HEAD too when it is detached
    rows = []
    for state in states:
        kind = WORKSPACE if state.rev == WORKSPACE else "commit"
        rows.append(_row(state, state.name or state.rev[:7] if kind == "commit" else WORKSPACE, kind, "done", dataset))
        for run in state.experiments or []:
            status = {"success": "done"}.get(run.executor.state, run.executor.state) if run.executor else "done"
            latest = run.revs[0]
            name = run.name or latest.name or latest.rev[:7]
            rows.append(_row(latest, name, "experiment", status, dataset, baseline=state.rev))
    return _distinct(rows)


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


def rank(rows: list[Experiment], dataset: str, metric: str) -> list[Ranked]:
    """Every row, the ranked ones first, best first on the mean validation figure; then the others, each with
    the reason it is not ranked."""
    direction = better(metric)
    ranked, unranked = [], []
    for row in rows:
        scores = row.scores or {}
        valid, test = figures(scores.get("valid", {}), metric), figures(scores, metric)
        if row.status != "done":
            reason = {"failed": f"failed: `dvc queue logs {row.name}` says why"}.get(row.status, row.status)
        elif row.kind == WORKSPACE and scores:  # its results need not be its params': it is no record
            reason = "uncommitted changes, its results maybe stale: `dvc exp run` makes them an experiment"
        elif not scores:
            reason = f"no results for {dataset}"
        elif "valid" not in scores:
            reason = f"no validation split (set datasets.{dataset}.train.valid_size)"
        elif not valid:
            reason = f"records no validation {metric}"
        else:
            ranked.append(Ranked(row, valid, test))
            continue
        unranked.append(Ranked(row, valid, test, reason))
    # a tie goes to the lower mean validation loss (with loss ranked on, the next decider is the order DVC lists)
    ranked.sort(key=lambda entry: (-direction * statistics.fmean(entry.valid), _mean_loss(entry.experiment)))
    return ranked + unranked


def _mean_loss(row: Experiment) -> float:
    losses = figures((row.scores or {}).get("valid", {}), "loss")
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


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Welch's t-test of two samples' means (scipy.stats.ttest_ind with equal_var=False, which the tests check
    it against): t, the standard error of the difference, the two-sided p-value (NaN when neither varies).

    Written out because importing scipy.stats takes 1.6 s, three times what compare may add to `dvc exp show`;
    the t distribution's tail is mpmath's regularized incomplete beta function (imported in 0.05 s).
    """
    import mpmath

    shares = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    error = math.sqrt(sum(shares))
    if error == 0:  # neither varies: the means are equal (nothing to test) or differ with certainty
        equal = statistics.fmean(a) == statistics.fmean(b)
        return (
            (math.nan, 0.0, math.nan)
            if equal
            else (math.copysign(math.inf, statistics.fmean(a) - statistics.fmean(b)), 0.0, 0.0)
        )
    t = (statistics.fmean(a) - statistics.fmean(b)) / error
    freedom = sum(shares) ** 2 / (shares[0] ** 2 / (len(a) - 1) + shares[1] ** 2 / (len(b) - 1))
    pvalue = float(mpmath.betainc(freedom / 2, 0.5, 0, freedom / (freedom + t * t), regularized=True))
    return t, error, pvalue


def verdict(best: Ranked, runner_up: Ranked, metric: str, keys: list[str], dataset: str) -> str:
    """Whether the best one's lead is larger than seed noise, in a sentence a learner reads."""
    winner, other = label(best.experiment, keys, dataset), label(runner_up.experiment, keys, dataset)
    if winner == other:
        winner, other = f"{winner} ({best.experiment.name})", f"{other} ({runner_up.experiment.name})"
    lead = better(metric) * (statistics.fmean(best.valid) - statistics.fmean(runner_up.valid))
    if min(len(best.valid), len(runner_up.valid)) < 2:
        return (
            f"{winner} leads {other} by {lead:.3g} in validation {metric}, but with one seed on a side this cannot "
            f"tell a real difference from seed noise: set datasets.{dataset}.train.repeats to 3 or more"
        )
    _, error, pvalue = welch(best.valid, runner_up.valid)
    if not math.isfinite(pvalue):
        return f"{winner} ties with {other}: every seed gives the same validation {metric}, nothing to test"
    seen = f"{winner} beats {other} by {lead:.3g} ± {error:.2g} in validation {metric}, p = {pvalue:.2g}"
    if pvalue < NOISE_P:
        return f"{seen}: unlikely to be seed noise"
    return f"{seen}: within seed noise; run more repeats"


@dataclass(frozen=True)
class Comparison:
    """A dataset's experiments ranked on `metric`, the params that tell them apart, the verdict on the top two."""

    dataset: str
    metric: str
    keys: list[str]
    entries: list[Ranked]
    verdict: str

    def table(self, markdown: bool = False) -> str:
        """The ranking as aligned text, or as a Markdown table."""
        params = [short(key, self.dataset) for key in self.keys]
        header = ["rank", "experiment", *params, f"valid {self.metric}", "n", f"test {self.metric}", "not ranked"]
        lines, place = [], 0
        for entry in self.entries:
            row = entry.experiment
            place += not entry.reason
            cells = ["-" if entry.reason else str(place), row.name, *(_value(row.params.get(key)) for key in self.keys)]
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


def compare(root: Path, dataset: str, metric: str | None = None) -> Comparison:
    """`dataset`'s experiments ranked on their validation `metric`, and the noise verdict on the top two."""
    rows = records(root, dataset)
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
    entries = rank(rows, dataset, metric)
    ranked = [entry for entry in entries if not entry.reason]
    if len(ranked) >= 2:  # named by what differs between the ranked ones (not what all of them set)
        said = verdict(ranked[0], ranked[1], metric, differing([entry.experiment for entry in ranked]), dataset)
    elif ranked:
        said = f"only {ranked[0].experiment.name} can be ranked: nothing to compare it with"
    else:
        said = f"no experiment of {dataset} can be ranked ({entries[0].experiment.name}: {entries[0].reason})"
    return Comparison(dataset, metric, keys, entries, said)


def apply_best(root: Path, comparison: Comparison) -> str:
    """`dvc exp apply` the best ranked experiment, so params.yaml and the outputs are its own; refuses a
    workspace with uncommitted changes (they would be lost)."""
    ranked = [entry for entry in comparison.entries if not entry.reason]
    if not ranked:
        raise DataError("no ranked experiment to apply")
    best = ranked[0].experiment
    with dvc_repo(root) as repo:
        if repo.scm.is_dirty(untracked_files=False):
            raise DataError("the workspace has uncommitted changes that --apply would overwrite: commit or stash them")
        if repo.status():
            raise DataError("outputs differ from dvc.lock (`dvc status` says which), --apply would overwrite them")
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
    return f"applied {best.name}: params.yaml and the outputs are its own (`dvc status` is clean)"

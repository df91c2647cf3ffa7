"""Ranking experiments on a validation metric, only those measured alike, and whether the best one's lead over
the runner-up is larger than the noise of its seeds (tinynets.noise). Test metrics are carried
along to be shown, never used to choose."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

from tinynets import noise
from tinynets.common.errors import DataError
from tinynets.experiments import WORKSPACE, Experiment
from tinynets.measures import METRICS

NOISE_P = 0.05  # below it, a lead is called unlikely to be noise
SCALE_DIGITS = 1e-4  # MASE scales (from figures kept to 6 digits) closer than this share are one


def better(metric: str) -> int:
    """+1 when a larger value is better, -1 when a smaller one is."""
    if metric not in METRICS:
        raise DataError(f"{metric!r} is not a metric tinynets compares on: use one of {', '.join(METRICS)}")
    return 1 if METRICS[metric].higher else -1


def metric_values(block: dict[str, Any], metric: str) -> list[float]:
    """A split's per-seed values of `metric`, in seed order (one value without train.repeats); none when it
    lacks it."""
    per_seed = block.get("per_seed", {}).get(metric)
    if per_seed:
        return [float(per_seed[seed]) for seed in sorted(per_seed, key=int)]
    return [float(block[metric])] if isinstance(block.get(metric), int | float) else []


@dataclass(frozen=True)
class Ranked:
    """An experiment's place: its validation values (per seed) and test values, or why it is not ranked."""

    experiment: Experiment
    valid: list[float]
    test: list[float]
    reason: str = ""  # why it is not ranked; empty when it is
    rescaled: float = 1.0  # MASE only: its own train period's naive error over the one it is shown on


def rank(rows: list[Experiment], dataset: str, metric: str, head: str = "", all_commits: bool = False) -> list[Ranked]:
    """Every row, the ranked ones first, best first on the mean validation value; then the others, each with
    the reason it is not ranked. Only values measured alike are ranked: on the same validation rows, a loss
    in the same units, and (unless `all_commits`) experiments of the commit `head`."""
    direction = better(metric)
    candidates, unranked = [], []
    for row in rows:
        scores = row.scores or {}
        valid, test = metric_values(scores.get("valid", {}), metric), metric_values(scores, metric)
        reason = _unrankable(row, dataset, metric, head if not all_commits else "")
        if not reason and not all(map(math.isfinite, valid)):
            reason = f"its validation {metric} is not a number on every seed ({', '.join(map(str, valid))})"
        if reason or not valid:
            unranked.append(Ranked(row, valid, test, reason or f"records no validation {metric}"))
        else:
            candidates.append(Ranked(row, valid, test))
    ranked, apart = _measured_alike(candidates, metric)
    if metric == "mase":
        ranked = on_one_scale(ranked)
    # a tie goes to the lower mean validation loss where all have the same loss function; a regressor's MSE else
    same_loss = len({_measure(entry, "loss")[1] for entry in ranked}) == 1
    ranked.sort(key=lambda entry: (-direction * statistics.fmean(entry.valid), _tie_break(entry, same_loss)))
    return ranked + apart + unranked


def _unrankable(row: Experiment, dataset: str, metric: str, head: str) -> str:
    """Why a row cannot be ranked at all (empty when it can)."""
    scores = row.scores or {}
    if row.status != "done":
        return {"failed": f"failed: `dvc queue logs {row.name}` says why"}.get(row.status, row.status)
    if row.kind == WORKSPACE and scores:  # its results need not be its params': it is no experiment
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
    """What must match for two validation values to be compared: the rows, and for a loss its units."""
    valid = (entry.experiment.scores or {})["valid"]
    return valid.get("rows"), valid.get("loss_units") if metric == "loss" else None


def _measured_alike(entries: list[Ranked], metric: str) -> tuple[list[Ranked], list[Ranked]]:
    """The entries measured like the largest group of them (of equal ones, the first DVC lists: their values
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
            why = (
                f"validated on other rows than {reference} (its seed, valid_size, folds or data differ): not comparable"
            )
        else:
            instead = "accuracy" if "accuracy" in (members[0].experiment.scores or {}) else "mse"
            why = f"its loss ({other[1]}) is not {reference}'s ({key[1]}): rank on {instead}"
        apart += [Ranked(entry.experiment, entry.valid, entry.test, why) for entry in members]
    return groups[key], apart


def mase_scale(entry: Ranked) -> float | None:
    """The naive error an experiment's MASE divides by, its train period's: the quotient of its validation MAE
    and MASE (each kept to 6 digits, so to about 1e-5 of itself); None for a MASE of 0, which is 0 on any scale."""
    valid = (entry.experiment.scores or {})["valid"]
    return valid["mae"] / valid["mase"] if valid.get("mase") else None


def on_one_scale(entries: list[Ranked]) -> list[Ranked]:
    """The entries' MASE on one scale: two experiments validated on the same rows can still differ in their
    train period (a longer or a revised history), and each MASE divides by its own period's naive error, so a
    smaller MASE need not be a smaller error. Every MASE is shown on the scale most of them share (of equal
    ones, the first's): its MAE over that one naive error, which ranks and tests them as their MAE would."""
    scales = [mase_scale(entry) for entry in entries]
    known = [scale for scale in scales if scale is not None]
    if not known:
        return entries
    reference = max(known, key=lambda scale: sum(_same_scale(other, scale) for other in known))  # the first of most
    factors = [1.0 if scale is None or _same_scale(scale, reference) else scale / reference for scale in scales]
    return [
        Ranked(entry.experiment, [v * factor for v in entry.valid], [v * factor for v in entry.test], "", factor)
        for entry, factor in zip(entries, factors, strict=True)
    ]


def _same_scale(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=SCALE_DIGITS)


def _tie_break(entry: Ranked, same_loss: bool) -> float:
    scores = (entry.experiment.scores or {}).get("valid", {})
    if "accuracy" in scores and not same_loss:
        return 0.0
    losses = metric_values(scores, "loss" if "accuracy" in scores else "mse")
    return statistics.fmean(losses) if losses else math.inf


def differing(rows: list[Experiment], dataset: str) -> list[str]:
    """The params that decide `dataset`'s results (its own and the global ones) whose values differ between the
    rows that have results, in params.yaml's order."""
    present = [row for row in rows if row.scores]
    keys = list(dict.fromkeys(key for row in present for key in row.params))
    keys = [key for key in keys if deciding(key, dataset)]
    return [key for key in keys if len({json.dumps(row.params.get(key), default=str) for row in present}) > 1]


def deciding(key: str, dataset: str) -> bool:
    """Whether a param (a flattened key) can change `dataset`'s results."""
    if key.startswith("datasets."):
        return key.startswith(f"datasets.{dataset}.")
    return key not in ("run", "export") and not key.startswith("search.")  # which datasets run, export, search


def label(row: Experiment, keys: list[str], dataset: str) -> str:
    """An experiment named by the params it changes: "lr 0.03" (its name when none differ; a param it leaves
    unset, as the table's blank cell, is not named)."""
    parts = [f"{column_name(key, dataset)} {row.params[key]}" for key in keys if row.params.get(key) is not None]
    return ", ".join(parts) or row.name


def column_name(key: str, dataset: str) -> str:
    """A param's name without the compared dataset's prefix, and without train. or model. (lr, not
    datasets.iris.train.lr)."""
    key = key.removeprefix(f"datasets.{dataset}.")
    if key == "train.seed":  # not the global seed, which also draws the data's split
        return key
    for section in ("train.", "model.", "data."):
        key = key.removeprefix(section)
    return key


def seeds(entry: Ranked, metric: str) -> list[str]:
    """The seeds behind an experiment's validation values, in the order `metric_values` gives them."""
    per_seed = (entry.experiment.scores or {})["valid"].get("per_seed", {}).get(metric)
    return sorted(per_seed, key=int) if per_seed else []  # a single value is never tested: its seed is moot


def lead_test(a: Ranked, b: Ranked, metric: str) -> noise.Lead:
    """The test of `a`'s lead over `b`: over the folds both were validated on (the seeds both ran, with the same
    data.split.folds and rows), else over their seeds (tinynets.noise). A series' rolling-origin folds are the
    same for every seed: each fold's figure is first averaged over the seeds, and the K averages are tested."""
    folds_a, folds_b = (_per_fold(entry, metric) for entry in (a, b))
    shared = sorted(folds_a.keys() & folds_b.keys(), key=lambda name: tuple(map(int, name.split("/"))))
    count = (a.experiment.scores or {})["valid"].get("folds")
    if not count or len(shared) < count:  # not every fold of one seed: _measured_alike saw the same count
        return noise.seed_test(a.valid, b.valid, paired=seeds(a, metric) == seeds(b, metric))
    values_a, values_b = [folds_a[name] for name in shared], [folds_b[name] for name in shared]
    if "forecast" in (a.experiment.scores or {}):
        import numpy as np

        values_a, values_b = (np.reshape(values, (-1, count)).mean(axis=0) for values in (values_a, values_b))
    found = noise.fold_test(values_a, values_b, count)
    if len(shared) < max(len(folds_a), len(folds_b)):  # one ran more seeds: their shared folds are tested
        found = dataclasses.replace(found, test=f"{found.test}, those both ran")
        if found.difference * (statistics.fmean(a.valid) - statistics.fmean(b.valid)) < 0:
            said = "on the folds both ran the order is reversed"
            return dataclasses.replace(found, error=None, pvalue=None, untested=said)
    return found


def _per_fold(entry: Ranked, metric: str) -> dict[str, float]:
    """An experiment's per-fold validation values of `metric` (none without folds), on the scale it is ranked."""
    found = (entry.experiment.scores or {})["valid"].get("per_fold", {}).get(metric, {})
    return {name: float(value) * entry.rescaled for name, value in found.items()}


def best_set(ranked: list[Ranked], metric: str) -> list[Ranked]:
    """The ranked experiments that cannot be told from the best: Holm's step-down over the best-vs-each t-tests
    over seeds at NOISE_P (statsmodels), the family's chance of one false "told apart" kept under it. A lead no
    test can weigh (one seed, no spread) cannot be told either."""
    from statsmodels.stats.multitest import multipletests

    best, others = ranked[0], ranked[1:]
    if not others:
        return [best]
    pvalues = []
    for entry in others:
        found = lead_test(best, entry, metric)
        pvalues.append(1.0 if found.pvalue is None else found.pvalue)
    apart = multipletests(pvalues, alpha=NOISE_P, method="holm")[0]
    return [best, *(entry for entry, told in zip(others, apart, strict=True) if not told)]


def verdict(best: Ranked, runner_up: Ranked, metric: str, keys: list[str], dataset: str) -> str:
    """Whether the best one's lead is larger than the noise of its seeds (tinynets.noise), in a sentence a learner
    reads."""
    winner, other = label(best.experiment, keys, dataset), label(runner_up.experiment, keys, dataset)
    if winner == other:
        winner, other = f"{winner} ({best.experiment.name})", f"{other} ({runner_up.experiment.name})"
    lead = better(metric) * (statistics.fmean(best.valid) - statistics.fmean(runner_up.valid))
    if abs(lead) <= noise.ROUNDING * max(map(abs, [*best.valid, *runner_up.valid])):  # equal to 6 digits
        return f"{winner} ties with {other} in validation {metric}"
    found = lead_test(best, runner_up, metric)
    repeats = f"datasets.{dataset}.train.repeats"
    leads = f"{winner} leads {other} by {lead:.3g} in validation {metric}"
    if found.untested and found.error is None and found.test:  # seeds that show no spread
        return f"{leads}; {found.untested}: no t-test can weigh it (more seeds, {repeats}, may show a spread)"
    if found.untested:
        return f"{leads}; {found.untested}: set {repeats} to 3 or more to test it"
    seen = f"{winner} beats {other} by {lead:.3g} ± {found.error:.2g} in validation {metric} ({found.test})"
    if found.pvalue < NOISE_P:
        return f"{seen}, p = {found.pvalue:.2g}: unlikely to be noise"
    return f"{seen}, p = {found.pvalue:.2g}: within the noise of its {found.over}"

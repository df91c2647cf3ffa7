"""tinynets compare's ranking and verdict on experiment records of known figures (the CLI end to end, over
real DVC experiments, is in tests/test_experiments.py)."""

from __future__ import annotations

import math
import re
import statistics

import pytest
from scipy.stats import ttest_ind

from tinynets.common.errors import DataError
from tinynets.compare import Comparison, Experiment, differing, figures, flattened, rank, short, verdict, welch


def by_seed(values: list[float]) -> dict[str, float]:
    """Figures as metrics/<ds>.json records them: under each seed (42, 43, ...), up to seed 51 and past it."""
    return {str(seed): value for seed, value in zip(range(42, 42 + len(values)), values, strict=True)}


def experiment(name: str, lr: float, valid: list[float] | None, test: list[float], status: str = "done") -> Experiment:
    params = flattened({"seed": 42, "datasets": {"iris": {"train": {"lr": lr, "repeats": len(test)}}}})
    scores = {"accuracy": test[0], "per_seed": {"accuracy": by_seed(test)}} if len(test) > 1 else {"accuracy": test[0]}
    if valid is not None:
        per_seed = {"per_seed": {"accuracy": by_seed(valid)}} if len(valid) > 1 else {}
        scores["valid"] = {"accuracy": valid[0], **per_seed}
    return Experiment(name, name, "experiment", status, params, scores if status == "done" else None)


SWEEP = [
    experiment("slow", 0.003, [0.80, 0.82, 0.81], [0.79, 0.80, 0.80]),
    experiment("fast", 0.3, [0.90, 0.93, 0.92], [0.88, 0.93, 0.90]),
    experiment("middle", 0.03, [0.89, 0.90, 0.88], [0.99, 0.99, 0.99]),  # the best test figure: never chosen on it
    experiment("no-valid", 0.1, None, [0.97]),
    experiment("queued", 1.0, None, [0.0], status="queued"),
]


def test_experiments_rank_on_validation_and_the_rest_say_why_not():
    entries = rank(SWEEP, "iris", "accuracy")
    assert [entry.experiment.name for entry in entries] == ["fast", "middle", "slow", "no-valid", "queued"]
    assert [entry.reason for entry in entries[:3]] == ["", "", ""]
    assert entries[3].reason == "no validation split (set datasets.iris.train.valid_size)"
    assert entries[4].reason == "queued"


def test_a_smaller_error_ranks_first():
    rows = [experiment("a", 0.1, [0.3, 0.31], [0.3, 0.3]), experiment("b", 0.2, [0.2, 0.21], [0.2, 0.2])]
    for row in rows:
        row.scores["valid"]["per_seed"]["mae"] = row.scores["valid"]["per_seed"].pop("accuracy")
    assert [entry.experiment.name for entry in rank(rows, "iris", "mae")] == ["b", "a"]


def test_the_verdict_is_welchs_t_test_on_the_per_seed_figures():
    entries = rank(SWEEP, "iris", "accuracy")
    keys = differing(SWEEP)
    assert keys == ["datasets.iris.train.lr", "datasets.iris.train.repeats"]
    said = verdict(entries[0], entries[1], "accuracy", keys[:1], "iris")
    expected = ttest_ind([0.90, 0.93, 0.92], [0.89, 0.90, 0.88], equal_var=False).pvalue
    assert said.startswith("lr 0.3 beats lr 0.03 by 0.0267 ± ")
    assert float(re.search(r"p = ([0-9.e-]+)", said).group(1)) == pytest.approx(expected, rel=0.01)
    assert said.endswith(": unlikely to be seed noise") == (expected < 0.05)


@pytest.mark.parametrize(
    ("a", "b"),
    [([0.90, 0.93, 0.92], [0.89, 0.90, 0.88]), ([0.5, 0.7], [0.1, 0.2, 0.25, 0.3, 0.2]), ([3.0, 3.0, 3.1], [2.0, 2.5])],
)
def test_welchs_test_is_scipys(a, b):
    t, error, pvalue = welch(a, b)
    expected = ttest_ind(a, b, equal_var=False)
    assert (t, pvalue) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-9)
    assert error == pytest.approx(abs(statistics.fmean(a) - statistics.fmean(b)) / abs(t))


def test_a_lead_inside_the_spread_is_called_seed_noise():
    close = [experiment("a", 0.1, [0.90, 0.80, 0.95], [0.9] * 3), experiment("b", 0.2, [0.88, 0.84, 0.90], [0.9] * 3)]
    entries = rank(close, "iris", "accuracy")
    said = verdict(entries[0], entries[1], "accuracy", ["datasets.iris.train.lr"], "iris")
    assert said.endswith("within seed noise; run more repeats")


def test_per_seed_figures_are_read_in_seed_order():
    assert figures({"per_seed": {"accuracy": {"100": 0.1, "99": 0.2, "9": 0.3}}}, "accuracy") == [0.3, 0.2, 0.1]
    assert figures({"accuracy": 0.5}, "accuracy") == [0.5] and figures({}, "accuracy") == []


def test_one_seed_each_cannot_tell():
    single = [experiment("a", 0.1, [0.9], [0.9]), experiment("b", 0.2, [0.8], [0.8])]
    entries = rank(single, "iris", "accuracy")
    said = verdict(entries[0], entries[1], "accuracy", ["datasets.iris.train.lr"], "iris")
    assert "cannot tell" in said and "datasets.iris.train.repeats" in said


def test_the_table_shows_the_params_that_differ_the_spread_and_n():
    entries = rank(SWEEP, "iris", "accuracy")
    comparison = Comparison("iris", "accuracy", ["datasets.iris.train.lr"], entries, "verdict")
    text = comparison.table().splitlines()
    assert text[0].split() == [
        "rank",
        "experiment",
        "lr",
        "valid",
        "accuracy",
        "n",
        "test",
        "accuracy",
        "not",
        "ranked",
    ]
    assert text[1].split()[:7] == ["1", "fast", "0.3", "0.9167", "±", "0.015", "3"]
    markdown = comparison.table(markdown=True).splitlines()
    assert markdown[0] == "| rank | experiment | lr | valid accuracy | n | test accuracy | not ranked |"
    assert markdown[1] == "| --- | --- | --- | --- | --- | --- | --- |"
    assert markdown[5].startswith("| - | no-valid | 0.1 |  |  | 0.97 | no validation split")


def test_a_param_is_named_without_its_datasets_prefix():
    assert short("datasets.iris.train.lr", "iris") == "lr"
    assert short("datasets.mnist.train.lr", "iris") == "datasets.mnist.train.lr"


def test_a_metric_tinynets_does_not_compare_on_is_refused():
    with pytest.raises(DataError, match="'speed' is not a metric"):
        rank(SWEEP, "iris", "speed")


def test_seeds_that_never_vary_but_differ_are_no_noise():
    t, error, pvalue = welch([1.0, 1.0, 1.0], [0.9, 0.9, 0.9])
    assert (t, error, pvalue) == (math.inf, 0.0, 0.0)
    assert math.isnan(welch([1.0, 1.0], [1.0, 1.0])[2])


def test_a_tie_goes_to_the_lower_validation_loss_and_the_workspace_is_never_ranked():
    tied = [experiment("a", 0.1, [0.9, 0.9], [0.9, 0.9]), experiment("b", 0.2, [0.9, 0.9], [0.9, 0.9])]
    for row, losses in zip(tied, ([0.3, 0.3], [0.1, 0.1]), strict=True):
        row.scores["valid"]["per_seed"]["loss"] = by_seed(losses)
    workspace = Experiment("workspace", "workspace", "workspace", "done", tied[0].params, tied[0].scores)
    entries = rank([workspace, *tied], "iris", "accuracy")
    assert [entry.experiment.name for entry in entries] == ["b", "a", "workspace"]
    assert entries[2].reason.startswith("uncommitted changes")

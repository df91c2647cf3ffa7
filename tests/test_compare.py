"""tinynets compare's ranking and verdict on experiment records of known figures (the CLI end to end, over
real DVC experiments, is in tests/test_experiments.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import t as stats_t
from scipy.stats import ttest_ind, ttest_rel

from tinynets.common.errors import DataError
from tinynets.compare import Comparison, scale_line
from tinynets.experiments import Experiment, flattened
from tinynets.noise import seed_test
from tinynets.ranking import best_set, better, column_name, differing, metric_values, rank, verdict


def by_seed(values: list[float]) -> dict[str, float]:
    """Figures as metrics/<ds>.json records them: under each seed (42, 43, ...), up to seed 51 and past it."""
    return {str(seed): value for seed, value in zip(range(42, 42 + len(values)), values, strict=True)}


def experiment(
    name: str,
    lr: float,
    valid: list[float] | None,
    test: list[float],
    status: str = "done",
    rows: str = "rows-a",
    commit: str = "c0ffee0",
) -> Experiment:
    params = flattened({"seed": 42, "datasets": {"iris": {"train": {"lr": lr, "repeats": len(test)}}}})
    scores = {"accuracy": test[0], "per_seed": {"accuracy": by_seed(test)}} if len(test) > 1 else {"accuracy": test[0]}
    if valid is not None:
        per_seed = {"per_seed": {"accuracy": by_seed(valid)}} if len(valid) > 1 else {}
        scores["valid"] = {"accuracy": valid[0], "rows": rows, **per_seed}
    return Experiment(name, name, "experiment", status, params, scores if status == "done" else None, commit)


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


LR = ["datasets.iris.train.lr"]


def verdict_of(best: list[float], second: list[float], metric: str = "accuracy") -> str:
    """The verdict on two experiments' per-seed validation figures (seeds 42, 43, ... on both sides)."""
    rows = [experiment("a", 0.1, best, best), experiment("b", 0.2, second, second)]
    for row in rows:
        valid = row.scores["valid"]
        valid[metric] = valid.pop("accuracy")
        if "per_seed" in valid:
            valid["per_seed"][metric] = valid["per_seed"].pop("accuracy")
    return verdict(*rank(rows, "iris", metric)[:2], metric, LR, "iris")


def test_seeds_that_all_score_alike_show_no_noise_and_get_no_p_value():
    # iris's 24 validation rows: 1.0 x3 against 0.958 x3 (one row missed by every seed). The seeds' noise is
    # unseen, not absent: no test can weigh the lead.
    said = verdict_of([1.0] * 3, [0.958] * 3)
    assert said == (
        "lr 0.1 leads lr 0.2 by 0.042 in validation accuracy; the seeds show no spread, so their noise is unseen: "
        "no t-test can weigh it (more seeds, datasets.iris.train.repeats, may show a spread)"
    )


def test_a_lead_every_seed_repeats_up_to_the_figures_rounding_gets_no_p_value():
    # one row of 24 with every seed, as metrics JSON's 6 digits record it: a spread of 3e-7 is the rounding's
    said = verdict_of([1.0, 1.0, 0.958333], [0.958333, 0.958333, 0.916667])
    assert "the seeds show no spread" in said and "p =" not in said


def test_a_seed_whose_figure_is_not_a_number_leaves_its_experiment_unranked_with_why():
    rows = [experiment("a", 0.1, [0.9, float("nan")], [0.9, 0.9]), experiment("b", 0.2, [0.8, 0.8], [0.9, 0.9])]
    entries = rank(rows, "iris", "accuracy")
    assert [entry.experiment.name for entry in entries] == ["b", "a"]
    assert entries[1].reason == "its validation accuracy is not a number on every seed (0.9, nan)"


def test_one_seed_a_side_shows_no_seed_noise_and_gets_no_p_value():
    said = verdict_of([0.9], [0.8])
    assert said.endswith("one seed shows no seed noise: set datasets.iris.train.repeats to 3 or more to test it")
    assert "p =" not in said


def test_a_lead_far_beyond_the_seeds_spread_is_unlikely_noise_and_one_within_it_is_not():
    said = verdict_of([0.95, 0.96, 0.97], [0.80, 0.82, 0.81])
    assert re.fullmatch(r"lr 0.1 beats lr 0.2 by 0.15 ± 0.0058 in validation accuracy \(paired t over 3 seeds\), "
                        r"p = 0.00\d+: unlikely to be noise", said), said  # fmt: skip
    said = verdict_of([0.95, 0.80, 0.90], [0.85, 0.90, 0.84])
    assert said.endswith(", p = 0.77: within the noise of its seeds")


def test_any_metric_with_per_seed_figures_is_tested_on_the_figure_the_table_ranks():
    # F1 is no mean over rows, RMSE the root of one: each is tested as each seed records it
    for metric in ("f1_macro", "rmse"):
        said = verdict_of([0.90, 0.91, 0.92], [0.80, 0.80, 0.82], metric)
        winner = "lr 0.1 beats lr 0.2" if better(metric) > 0 else "lr 0.2 beats lr 0.1"
        assert said.startswith(f"{winner} by 0.103 ± 0.0033 in validation {metric} (paired t over 3 seeds), p = ")
        assert said.endswith(": unlikely to be noise")


@pytest.mark.parametrize(("best", "second"), [(3, 3), (3, 5), (5, 2)])
def test_the_p_value_is_scipys_t_test_paired_over_shared_seeds_else_welchs(best, second):
    generator = np.random.default_rng(best * 10 + second)
    a, b = list(0.9 + generator.normal(0, 0.02, best)), list(0.88 + generator.normal(0, 0.02, second))
    said = verdict_of(a, b)
    if best == second:  # the same seeds, 42 to 44: pairs
        expected, test = ttest_rel(a, b).pvalue, "paired t over 3 seeds"
    else:
        expected, test = ttest_ind(a, b, equal_var=False).pvalue, f"Welch's t over {best} and {second} seeds"
    assert f"({test}), p = {expected:.2g}:" in said


def test_a_sweeps_best_set_is_every_experiment_not_told_from_the_best_and_all_of_it_ranks_first():
    spread = np.array([0.004, -0.003, 0.001, -0.002, 0.0])  # each experiment's seeds scatter so, in its own order
    orders = [[1, 0, 3, 4, 2], [2, 3, 4, 0, 1], [4, 2, 0, 1, 3]]  # none the best's: no lead is the same every seed
    means = [0.900, 0.899, 0.898, *(0.85 - 0.01 * index for index in range(9))]  # three close, nine far below
    rows = [
        experiment(f"e{index}", round(0.01 * (index + 1), 2), list(mean + spread[orders[index % 3]]), [0.9] * 5)
        for index, mean in enumerate(means[1:], start=1)
    ]
    rows.insert(0, experiment("e0", 0.01, list(means[0] + spread), [0.9] * 5))
    ranked = rank(rows, "iris", "accuracy")
    tied = best_set(ranked, "accuracy")
    assert {entry.experiment.name for entry in tied} == {"e0", "e1", "e2"}
    comparison = Comparison("iris", "accuracy", LR, ranked, "", best=tuple(entry.experiment.name for entry in tied))
    places = [line.split()[0] for line in comparison.table().splitlines()[1:]]
    assert places == ["1", "1", "1", *map(str, range(4, 13))]


def test_shared_seeds_are_compared_as_pairs():
    # Each seed moves both sides alike (the same initial weights): paired, the constant lead stands out
    seed_level = np.array([0.0, 0.3, -0.3])
    a, b = seed_level + 0.05 + np.array([0.001, -0.001, 0.0]), seed_level
    assert seed_test(a, b, paired=True).pvalue < 0.01
    assert seed_test(a, b, paired=False).pvalue > 0.05
    with pytest.raises(ValueError, match="2 and 3 seeds cannot be paired"):
        seed_test([0.1, 0.2], [0.1, 0.2, 0.3], paired=True)


def test_a_tie_between_other_loss_functions_is_not_broken_on_their_losses():
    tied = [experiment("a", 0.1, [0.9, 0.9], [0.9, 0.9]), experiment("b", 0.2, [0.9, 0.9], [0.9, 0.9])]
    for row, (units, loss) in zip(tied, (("cross_entropy", 0.3), ("bce_with_logits", 0.1)), strict=True):
        row.scores["valid"] |= {
            "loss_units": units,
            "per_seed": {**row.scores["valid"]["per_seed"], "loss": by_seed([loss] * 2)},
        }
    assert [entry.experiment.name for entry in rank(tied, "iris", "accuracy")] == ["a", "b"]  # as DVC lists them
    tied[0].scores["valid"]["loss_units"] = "bce_with_logits"
    assert [entry.experiment.name for entry in rank(tied, "iris", "accuracy")] == ["b", "a"]


def test_figures_on_other_rows_other_commits_or_loss_units_are_not_ranked_together():
    rows = [
        experiment("a", 0.1, [0.9, 0.9], [0.9, 0.9]),
        experiment("b", 0.2, [0.8, 0.8], [0.9, 0.9]),
        experiment("other-seed", 0.3, [1.0, 1.0], [0.9, 0.9], rows="rows-b"),
        experiment("older", 0.4, [1.0, 1.0], [0.9, 0.9], commit="0ld0ld0"),
    ]
    entries = rank(rows, "iris", "accuracy", head="c0ffee0")
    assert [(entry.experiment.name, entry.reason[:27]) for entry in entries] == [
        ("a", ""),
        ("b", ""),
        ("other-seed", "validated on other rows tha"),
        ("older", "run from commit 0ld0ld0, no"),
    ]
    assert [entry.experiment.name for entry in rank(rows, "iris", "accuracy", "c0ffee0", all_commits=True)][:3] == [
        "older",
        "a",
        "b",
    ]
    for row, units in zip(rows[:2], ("cross_entropy", "bce_with_logits"), strict=True):
        row.scores["valid"] |= {"loss": 0.1, "loss_units": units}
    by_loss = rank(rows[:2], "iris", "loss")
    assert by_loss[1].reason == "its loss (bce_with_logits) is not a's (cross_entropy): rank on accuracy"
    comparison = Comparison("iris", "accuracy", [], entries, "", commits=True)
    assert comparison.table().splitlines()[0].split()[:3] == ["rank", "experiment", "commit"]


def test_the_table_shows_only_the_params_that_decide_the_compared_datasets_results():
    rows = [experiment("a", 0.1, [0.9, 0.9], [0.9, 0.9]), experiment("b", 0.2, [0.8, 0.8], [0.9, 0.9])]
    for row, epochs in zip(rows, (5, 9), strict=True):  # another dataset's, and which datasets run: not iris's
        row.params.update({"datasets.circles.train.epochs": epochs, "run": ["iris", "circles"][: epochs // 4]})
    rows[1].params["device"] = "cpu"  # global: it may change iris's results
    assert differing(rows, "iris") == ["datasets.iris.train.lr", "device"]


def test_per_seed_figures_are_read_in_seed_order():
    assert metric_values({"per_seed": {"accuracy": {"100": 0.1, "99": 0.2, "9": 0.3}}}, "accuracy") == [0.3, 0.2, 0.1]
    assert metric_values({"accuracy": 0.5}, "accuracy") == [0.5] and metric_values({}, "accuracy") == []


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
    assert markdown[5] == "| - | no-valid | 0.1 |  |  | 0.97 | (1) |"
    assert markdown[-2:] == ["- (1) no validation split (set datasets.iris.train.valid_size)", "- (2) queued"]
    assert text[4].split()[-1] == "(1)" and [f"- {line}" for line in text[-2:]] == markdown[-2:] and not text[-3]
    assert max(map(len, text)) < 80


def test_a_param_is_named_without_its_datasets_prefix():
    assert column_name("datasets.iris.train.lr", "iris") == "lr"
    assert column_name("datasets.iris.train.seed", "iris") == "train.seed" and column_name("seed", "iris") == "seed"
    assert column_name("datasets.mnist.train.lr", "iris") == "datasets.mnist.train.lr"


def test_a_metric_tinynets_does_not_compare_on_is_refused():
    with pytest.raises(DataError, match="'speed' is not a metric"):
        rank(SWEEP, "iris", "speed")


def test_a_tie_goes_to_the_lower_validation_loss_and_the_workspace_is_never_ranked():
    tied = [experiment("a", 0.1, [0.9, 0.9], [0.9, 0.9]), experiment("b", 0.2, [0.9, 0.9], [0.9, 0.9])]
    for row, losses in zip(tied, ([0.3, 0.3], [0.1, 0.1]), strict=True):
        row.scores["valid"]["per_seed"]["loss"] = by_seed(losses)
    workspace = Experiment("workspace", "workspace", "workspace", "done", tied[0].params, tied[0].scores)
    entries = rank([workspace, *tied], "iris", "accuracy")
    assert [entry.experiment.name for entry in entries] == ["b", "a", "workspace"]
    assert entries[2].reason.startswith("uncommitted changes")


def test_a_series_without_validation_is_told_to_set_its_validation_period():
    # train.valid_size is refused for a series: its validation is a period of the timeline
    series = Experiment("demand", "demand", "experiment", "done", {}, {"mae": 3.0, "forecast": {"window": 7}})
    assert (
        rank([series], "demand", "mae")[0].reason == "no validation split (set datasets.demand.data.split.valid_size)"
    )


def forecast(name: str, maes: list[float], scale: float) -> Experiment:
    """A forecast experiment validated on rows-a whose train period's naive error is `scale`."""
    row = experiment(name, 0.1, [mae / scale for mae in maes], [mae / scale for mae in maes])
    valid = row.scores["valid"]
    valid["per_seed"] = {"mase": valid["per_seed"].pop("accuracy"), "mae": by_seed(maes)}
    valid |= {"mase": maes[0] / scale, "mae": maes[0]}
    return row


def test_mase_is_ranked_on_one_scale_when_train_periods_differ():
    # the same validation rows, but a's train period was more volatile: its own MASE looks 17% better
    a = forecast("a", [1.00, 1.03, 0.98], scale=2.0)
    b = forecast("b", [0.90, 0.927, 0.882], scale=1.5)  # 10% smaller errors on every seed
    entries = rank([a, b], "iris", "mase")
    assert [entry.experiment.name for entry in entries] == ["b", "a"]
    assert entries[0].valid == pytest.approx([0.45, 0.4635, 0.441])  # on a's scale: MAE / 2.0
    assert entries[0].rescaled == pytest.approx(0.75) and entries[1].rescaled == 1.0
    assert [entry.experiment.name for entry in rank([a, b], "iris", "mae")] == ["b", "a"]
    assert "b           0.4515 ± 0.011*" in Comparison("iris", "mase", [], entries, "", best=("b",)).table()
    assert scale_line(entries) == (
        "\n* MASE on one scale, the naive error of a's train period (2): b (x0.75) trained on another period, their "
        "MASE rescaled to it (MAE over one scale ranks as MAE does)"
    )
    # a MASE of 0 is 0 on any scale: it ranks first and the others are still put on one scale
    perfect = forecast("c", [0.0, 0.0, 0.0], scale=1.0)
    perfect.scores["valid"]["mase"] = 0.0
    assert [(entry.experiment.name, entry.rescaled) for entry in rank([a, b, perfect], "iris", "mase")] == [
        ("c", 1.0),
        ("b", pytest.approx(0.75)),
        ("a", 1.0),
    ]


def test_mase_on_one_train_period_is_ranked_as_recorded():
    a, b = forecast("a", [1.0, 1.1], scale=2.0), forecast("b", [0.9, 0.8], scale=2.0)
    entries = rank([a, b], "iris", "mase")
    assert [entry.valid for entry in entries] == [[0.45, 0.4], [0.5, 0.55]]
    assert {entry.rescaled for entry in entries} == {1.0}
    # figures kept to 6 digits, as metrics JSON keeps them, give quotients a few 1e-6 apart: still one period
    c, d = forecast("c", [1.23457, 1.3], scale=3.0), forecast("d", [1.0, 1.1], scale=3.0)
    c.scores["valid"]["mase"] = float(f"{1.23457 / 3.0:.6g}")
    assert c.scores["valid"]["mae"] / c.scores["valid"]["mase"] != 3.0
    assert {entry.rescaled for entry in rank([c, d], "iris", "mase")} == {1.0}


def folded(name: str, lr: float, per_fold: list[list[float]], rows: str = "3 folds of rows-a") -> Experiment:
    """An experiment cross-validated with repeats x folds, its per-fold validation accuracy as metrics JSON
    keeps it ("seed/fold"), each seed's mean over its folds under per_seed."""
    params = flattened({"seed": 42, "datasets": {"iris": {"train": {"lr": lr, "repeats": len(per_fold)}}}})
    folds = {
        f"{seed}/{fold}": value
        for seed, values in zip(range(42, 42 + len(per_fold)), per_fold, strict=True)
        for fold, value in enumerate(values)
    }
    valid = {"accuracy": float(np.mean(per_fold)), "rows": rows, "folds": len(per_fold[0])}
    valid["per_fold"] = {"accuracy": folds}
    if len(per_fold) > 1:
        valid["per_seed"] = {"accuracy": by_seed([float(np.mean(values)) for values in per_fold])}
    return Experiment(name, name, "experiment", "done", params, {"accuracy": 0.9, "valid": valid}, "c0ffee0")


def test_folds_alike_are_tested_fold_by_fold_one_k_fold_by_the_paired_t_repeats_by_the_corrected_t():
    a_folds, b_folds = [[0.95, 0.90, 1.0, 0.97, 0.92]], [[0.90, 0.86, 0.97, 0.92, 0.88]]
    once = rank([folded("a", 0.1, a_folds), folded("b", 0.2, b_folds)], "iris", "accuracy")
    said = verdict(*once[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    expected = ttest_rel(a_folds[0], b_folds[0]).pvalue
    assert f"(paired t over 5 folds), p = {expected:.2g}" in said
    a_folds = [[0.95, 0.90, 1.0], [0.93, 0.97, 0.94]]
    b_folds = [[0.90, 0.86, 0.97], [0.92, 0.90, 0.91]]
    repeated = rank([folded("a", 0.1, a_folds), folded("b", 0.2, b_folds)], "iris", "accuracy")
    spread = np.subtract(a_folds, b_folds).ravel()
    t = spread.mean() / np.sqrt((1 / 6 + 1 / 2) * spread.var(ddof=1))  # Nadeau-Bengio: test/train rows 1/(K-1)
    said = verdict(*repeated[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    assert "(corrected t over 2x3 folds)" in said and f"p = {2 * stats_t.sf(t, 5):.2g}" in said


def test_folds_of_other_seeds_are_tested_over_their_seeds_and_other_fold_counts_are_not_ranked_together():
    a = folded("a", 0.1, [[0.95, 0.90, 1.0], [0.93, 0.97, 0.94]])
    b = folded("b", 0.2, [[0.90, 0.86, 0.97], [0.92, 0.90, 0.91]])
    moved = Experiment("c", "c", "experiment", "done", b.params, {**b.scores}, b.commit)
    moved.scores["valid"] = {
        **b.scores["valid"],
        "per_fold": {"accuracy": {"44/0": 0.9, "44/1": 0.9, "44/2": 0.9, "45/0": 0.8, "45/1": 0.8, "45/2": 0.8}},
    }
    moved.scores["valid"]["per_seed"] = {"accuracy": {"44": 0.9, "45": 0.8}}
    said = verdict(*rank([a, moved], "iris", "accuracy")[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    assert "Welch's t over 2 and 2 seeds" in said
    other = folded("d", 0.3, [[0.99, 0.99, 0.99, 0.99, 0.99]], rows="5 folds of rows-a")
    entries = rank([a, b, other], "iris", "accuracy")
    assert entries[-1].experiment.name == "d" and "validated on other rows" in entries[-1].reason


def test_one_seed_against_three_is_tested_on_the_folds_of_the_seed_both_ran():
    one = folded("one", 0.1, [[0.90, 0.86, 0.97, 0.92, 0.88]], rows="5 folds of rows-a")
    three = [[0.95, 0.90, 1.0, 0.97, 0.92], [0.93, 0.93, 0.93, 0.93, 0.93], [0.94, 0.94, 0.94, 0.94, 0.94]]
    entries = rank([one, folded("many", 0.2, three, rows="5 folds of rows-a")], "iris", "accuracy")
    said = verdict(*entries[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    expected = ttest_rel(three[0], [0.90, 0.86, 0.97, 0.92, 0.88]).pvalue
    assert (
        said.startswith("lr 0.2 beats lr 0.1")
        and f"(paired t over 5 folds, those both ran), p = {expected:.2g}" in said
    )
    three[0] = [0.85, 0.80, 0.90, 0.87, 0.82]  # worse than one on the seed both ran, better on the mean of three
    three[1:] = [[0.99] * 5, [0.99] * 5]
    entries = rank([one, folded("many", 0.2, three, rows="5 folds of rows-a")], "iris", "accuracy")
    said = verdict(*entries[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    assert said.startswith("lr 0.2 leads lr 0.1") and "on the folds both ran the order is reversed" in said
    assert len(best_set(entries, "accuracy")) == 2  # a reversed order tells nothing apart


def test_a_series_rolling_folds_are_the_same_for_every_seed_so_each_folds_mean_over_seeds_is_tested():
    a_folds = [[0.95, 0.90, 1.0, 0.97], [0.94, 0.91, 0.99, 0.96]]
    b_folds = [[0.90, 0.86, 0.97, 0.92], [0.91, 0.85, 0.98, 0.93]]
    a, b = folded("a", 0.1, a_folds, rows="4 folds of w"), folded("b", 0.2, b_folds, rows="4 folds of w")
    for entry in (a, b):
        entry.scores["forecast"] = {"window": 11, "horizon": 3}
    said = verdict(*rank([a, b], "iris", "accuracy")[:2], "accuracy", ["datasets.iris.train.lr"], "iris")
    expected = ttest_rel(np.mean(a_folds, axis=0), np.mean(b_folds, axis=0)).pvalue
    assert f"(paired t over 4 folds), p = {expected:.2g}" in said


def test_a_param_an_experiment_leaves_unset_is_not_named_in_its_label():
    from tinynets.ranking import label

    row = experiment("a", 0.1, [0.9], [0.9])
    assert label(row, ["datasets.iris.train.lr", "datasets.iris.train.seed"], "iris") == "lr 0.1"

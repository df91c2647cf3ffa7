"""The figures drawn with fixed margins fit a user's data of any size: no label runs off the image."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import search_summary

from tinynets import learning_plots, plots, search_plots
from tinynets.report import search_table

SCALES = [1e-5, 3e-4, 3e-3, 1.0, 5e4, 4.5e5, 1e7]


@pytest.fixture
def overflow(monkeypatch) -> list[tuple[str, float]]:
    """Each figure drawn as it would be saved, with how far (inches) its artists reach past the image's edges (0 if
    inside)."""
    seen: list[tuple[str, float]] = []

    def measured(figure: plt.Figure, path: Path, tight: bool = False) -> None:
        if tight:
            figure.tight_layout()
        figure.canvas.draw()
        box = figure.get_tightbbox(figure.canvas.get_renderer())
        width, height = figure.get_size_inches()
        seen.append((path.name, max(0.0, -box.x0, -box.y0, box.x1 - width, box.y1 - height)))
        plt.close(figure)

    monkeypatch.setattr(plots, "save", measured)
    monkeypatch.setattr(learning_plots, "save", measured)
    monkeypatch.setattr(search_plots, "save", measured)
    return seen


@pytest.mark.parametrize("scale", SCALES)
def test_figures_fit_values_of_any_size(tmp_path, overflow, scale):
    rng = np.random.default_rng(0)
    actual = rng.uniform(-scale, 2 * scale, 200)
    plots.predicted_vs_actual(actual, actual + rng.normal(0, scale / 10, 200), "my_data (test set)", tmp_path / "a.png")
    epochs = np.arange(1, 2001)
    curve = {"epoch": epochs, "train": scale * (1 + 1 / epochs), "test": scale * (1.2 + 1 / epochs)}
    plots.loss_curve(curve, "my_data: loss", tmp_path / "b.png")
    table = {
        "epoch": np.repeat(epochs[:50], 2),
        "layer": np.tile(["linear1", "linear2"], 50),
        "weight_norm": rng.uniform(0, scale, 100),
        "grad_norm": rng.uniform(0, scale, 100),
        "dead": rng.uniform(0, 1, 100),
    }
    learning_plots.dynamics(table, 100_000, None, "my_data", tmp_path / "c.png")
    assert [name for name, past in overflow if past > 0.01] == []


def test_a_network_with_long_feature_and_class_names_fits(tmp_path, overflow):
    learning = {"network_1": np.ones((5, 3)), "network_2": np.ones((2, 5))}
    inputs = ["systolic blood pressure (mm Hg), seated", "age at first visit (years)", "x"]
    learning_plots.network(learning, inputs, ["no disease", "coronary heart disease"], "my_data", tmp_path / "n.png")
    assert [name for name, past in overflow if past > 0.01] == []


@pytest.mark.parametrize("scale", [1e-4, 3e5])
def test_a_searchs_figures_fit_and_its_table_ranks_the_best_first_the_unfinished_last(tmp_path, overflow, scale):
    summary = search_summary()
    for trial in summary["trials"]:
        trial["value"] = trial["value"] and trial["value"] * scale
    search_plots.draw_search(summary, tmp_path)
    assert sorted(name for name, _ in overflow) == sorted(search_plots.FIGURES)
    assert all(reach < 0.01 for _, reach in overflow), overflow

    rows = [line.strip("| ").split(" | ") for line in search_table(summary).splitlines() if "iris-abc123" in line]
    losses = [float(row[-1]) for row in rows[:6]]
    assert losses == sorted(losses) and rows[0][1].endswith("(best)")
    assert [row[-1] for row in rows[6:]] == ["failed", "pruned"]  # by trial number: 5 failed, 6 pruned


def test_a_search_summary_is_read_back_as_written_and_one_of_another_layout_is_refused_in_one_line(in_tmp):
    import json

    from tinynets.common.errors import DataError
    from tinynets.report import read_search_summary

    assert read_search_summary("iris") is None  # no search yet: no figures, no table
    summary = search_summary()
    (in_tmp / "search").mkdir()
    (in_tmp / "search/iris.json").write_text(json.dumps(summary))
    assert read_search_summary("iris") == summary
    outside = {**summary["trials"][0], "params": {"datasets.iris.seed": 3}}
    wrong = [
        ({**summary, "format": 2}, "(format: Input should be 1 (got 2))"),
        ({**summary, "trials": [outside]}, "trial 0 sets datasets.iris.seed, which its space does not search"),
    ]
    for written, reason in wrong:
        (in_tmp / "search/iris.json").write_text(json.dumps(written))
        with pytest.raises(DataError) as refused:
            read_search_summary("iris")
        assert str(refused.value).startswith("search/iris.json: not a search summary this version reads (")
        assert reason in str(refused.value) and "\n" not in str(refused.value)

"""Time series: a chronological split whose windows never cross into a later period, scalers fitted on the train
period, and the forecasts a net must beat, checked by hand."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_repo, ran_stages, run, tiny_params, tool_env, write_params

from tinynets.common.contracts import FEATURE_INFO
from tinynets.common.errors import DataError
from tinynets.common.settings import Settings
from tinynets.evaluation.forecasts import forecast_baselines, forecast_metrics, naive, seasonal_naive
from tinynets.evaluation.scoring import forecast_arrays
from tinynets.params import EvaluateConfig, TimeseriesData
from tinynets.predict import recent_window
from tinynets.preprocess import featurize, mase_scale
from tinynets.series import Periods, Series, periods, read_series, split_windows


def series_data(**keys) -> TimeseriesData:
    values = {"source": "timeseries", "path": "data/own/series.csv", "target": "y", "window": 5} | keys
    return TimeseriesData.model_validate(values)


def toy(values: np.ndarray, *features: np.ndarray) -> Series:
    columns = np.column_stack([values, *features]).astype(np.float64)
    names = ("y", *(f"f{index}" for index in range(len(features))))
    return Series(columns, names, np.arange(len(values)).astype(str), "toy")


def test_the_split_keeps_every_window_inside_its_period():
    steps = np.arange(100.0)  # each value is its own step index: a window's values say where it reads
    raw = split_windows(toy(steps), series_data(horizon=3, split={"valid_size": 0.2, "test_size": 0.2}), "toy")
    assert periods(100, 0.2, 0.2) == Periods(valid_start=60, test_start=80, steps=100)
    valid_start, test_start = 60, 80
    assert raw.test_targets.tolist() == list(range(80, 98))  # a test window reads the steps before its period
    assert raw.x_train.max() < valid_start and raw.y_train.max() < valid_start  # nothing of later periods
    assert raw.y_valid.min() >= valid_start and raw.y_valid.max() < test_start
    assert raw.y_test.min() >= test_start and raw.y_test.max() == 99
    # consecutive windows: the first of each period is the first whose targets all lie in it
    assert raw.y_train[0].tolist() == [5, 6, 7] and raw.y_train[-1].tolist() == [57, 58, 59]
    assert raw.y_valid[0].tolist() == [60, 61, 62] and raw.y_valid[-1].tolist() == [77, 78, 79]
    assert raw.x_valid[0, :, 0].tolist() == [55, 56, 57, 58, 59]  # it reads the steps before it, as a forecast would
    assert len(raw.x_train) == 60 - 5 - 3 + 1 and len(raw.x_test) == 20 - 3 + 1
    assert raw.fit_rows[:, 0].tolist() == list(range(60))


def test_the_scalers_keep_the_train_periods_statistics_when_the_level_jumps():
    rng = np.random.default_rng(0)
    level = np.concatenate([rng.normal(10, 2, 70), rng.normal(500, 2, 30)])  # a jump in the test period
    feature = rng.normal(0, 1, 100)
    raw = split_windows(toy(level, feature), series_data(split={"valid_size": 0.1, "test_size": 0.2}), "toy")
    arrays = {key: value for key, value in raw.fields().items() if isinstance(value, np.ndarray)}
    arrays |= {"source": np.array("toy"), "feature_names": np.array(raw.feature_names), "target_names": np.array([])}
    data = {"scaler": "standard", "target_scaler": "standard", "classes": None, "time": None, "missing": "error"}
    settings = Settings({"data": data, "loss": "mse", "inputs": "windows"})
    features, info = featurize(arrays, settings, "toy")
    assert FEATURE_INFO.mismatch(info | {"made_from": "its prepare settings"}) is None  # a series', as declared
    train = level[:70]
    assert info["scaler"]["offset"] == pytest.approx([train.mean(), feature[:70].mean()])
    assert info["scaler"]["scale"][0] == pytest.approx(1 / train.std())
    assert info["target_scaler"]["offset"] == pytest.approx([train.mean()])
    assert features["x_train"].shape == (70 - 5, 5, 2) and features["y_train"].shape == (65, 1)
    assert abs(features["x_train"][:, :, 0].mean()) < 0.2 and features["y_test"].min() > 100  # z-scores of train


def test_mase_divides_by_the_train_periods_mean_one_step_change():
    truth, forecast = np.array([[10.0, 12.0], [11.0, 15.0]]), np.array([[9.0, 12.0], [13.0, 11.0]])
    scores = forecast_metrics(truth, forecast, mase_scale=2.0)
    assert scores["mae"] == pytest.approx((1 + 0 + 2 + 4) / 4)
    assert scores["mase"] == pytest.approx(1.75 / 2.0)
    assert scores["rmse"] == pytest.approx(np.sqrt((1 + 0 + 4 + 16) / 4))
    assert scores["mae_by_step"] == {"1": 1.5, "2": 2.0}


UNSCALED = {"scaler": {"kind": "none", "offset": [0.0], "scale": [1.0]}}


def test_the_naive_forecasts_by_hand():
    # windows of 4 steps of the series 1, 2, 3, 4 | 5, 6, 7, 8 | ...
    x = np.array([[[1.0], [2.0], [3.0], [4.0]], [[3.0], [5.0], [7.0], [9.0]]])
    assert naive(x, 3, UNSCALED).tolist() == [[4, 4, 4], [9, 9, 9]]
    # season 2: step 1 ahead repeats the value 2 back, step 2 the last one, step 3 the one 2 back again
    assert seasonal_naive(x, 3, 2, UNSCALED).tolist() == [[3, 4, 3], [7, 9, 7]]
    scaled = {"scaler": {"kind": "standard", "offset": [10.0], "scale": [0.5]}}  # x' = (x - 10) / 2
    assert naive((x - 10) * 0.5, 1, scaled).tolist() == [[4], [9]]


def test_the_baselines_score_on_the_same_windows_as_the_net():
    series = np.sin(np.arange(120) * 2 * np.pi / 12) * 10 + 50  # a season of 12 steps, nothing else
    raw = split_windows(toy(series), series_data(window=12, split={"valid_size": 0.2, "test_size": 0.2}), "toy")
    split = {key: getattr(raw, key) for key in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")}
    info = UNSCALED | {"forecast": {"mase_scale": float(np.abs(np.diff(series[:72])).mean())}}
    block = forecast_baselines(split, info, season=12, config=EvaluateConfig())
    assert block["seasonal_naive"]["mae"] == pytest.approx(0, abs=1e-9)  # a season repeats exactly
    assert block["naive"]["mase"] > 0.5 and block["linear"]["mae"] < 1e-3  # the sine is linear in its past
    assert set(block["naive"]["valid"]) >= {"mae", "mase", "rmse", "mae_by_step"}


@pytest.mark.parametrize(
    ("keys", "steps", "message"),
    [
        ({"window": 50}, 60, "datasets.toy.data.window: 50 steps in and 1 ahead do not fit the train period (42 of"),
        ({"horizon": 4, "split": {"valid_size": 0.0, "test_size": 0.05}}, 60, "the test period has 3 steps, fewer"),
        ({"split": {"valid_size": 0.01, "test_size": 0.2}}, 30, "the valid period has 0 steps, fewer than the horizon"),
    ],
)
def test_a_window_that_does_not_fit_is_one_line(keys, steps, message):
    with pytest.raises(DataError, match=re.escape(message)):
        split_windows(toy(np.arange(float(steps))), series_data(**keys), "toy")


def demand_table(days: int = 400) -> pd.DataFrame:
    """A made-up daily demand: a weekly season, a slow trend, a temperature effect and noise."""
    rng = np.random.default_rng(0)
    day = np.arange(days)
    temperature = 15 + 8 * np.sin(day * 2 * np.pi / 365) + rng.normal(0, 1, days)
    demand = 100 + 0.05 * day + 12 * np.sin(day * 2 * np.pi / 7) + 1.5 * temperature + rng.normal(0, 2, days)
    dates = pd.date_range("2024-01-01", periods=days, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"day": dates, "temperature": temperature.round(2), "demand": demand.round(2)})


OWN_SERIES = {
    "data": {
        "source": "timeseries",
        "path": "data/own/demand.csv",
        "target": "demand",
        "time": "day",
        "features": ["temperature"],
        "window": 14,
        "horizon": 3,
        "season": 7,
    },
    "model": {"blocks": [{"type": "gru", "hidden": 16}, {"type": "linear", "out": "auto"}]},
    "train": {
        "epochs": 40,
        "batch_size": 32,
        "shuffle": True,
        "optimizer": {"name": "adam"},
        "lr": 0.01,
        "loss": "mse",
    },
}


def predict(repo: Path, table: pd.DataFrame, path: Path) -> subprocess.CompletedProcess:
    table.to_csv(path, index=False)
    return subprocess.run(
        ["tinynets", "predict", "demand", str(path)], cwd=repo, env=tool_env(repo), capture_output=True, text=True
    )


@pytest.mark.slow
def test_a_series_of_your_own_runs_end_to_end_and_forecasts_from_its_last_rows(tmp_path):
    params = tiny_params(["demand"])
    params["datasets"]["demand"] = OWN_SERIES
    params["export"] = ["demand"]
    repo = make_repo(tmp_path / "repo", params)
    table = demand_table()
    table.sample(frac=1, random_state=0).to_csv(repo / "data/own/demand.csv", index=False)  # any order: by `day`
    run(repo, "dvc", "repro")

    scores = json.loads((repo / "metrics/demand.json").read_text())
    baseline = scores["baseline"]
    assert scores["mae"] < baseline["naive"]["mae"] and scores["valid"]["mae"] < baseline["naive"]["valid"]["mae"]
    assert set(scores["mae_by_step"]) == {"1", "2", "3"}
    mase_scale = json.loads((repo / "data/features/demand.json").read_text())["forecast"]["mase_scale"]
    assert scores["mase"] == pytest.approx(scores["mae"] / mase_scale, rel=1e-5)
    assert {"naive", "seasonal_naive", "linear"} <= set(baseline)
    assert scores["n_train"] == 280 - 14 - 3 + 1 and scores["n_test"] == 60 - 3 + 1  # 70/15/15 of 400 days
    assert (repo / "plots/images/demand/forecast.png").exists()
    parity = json.loads((repo / "models/demand.onnx.json").read_text())  # a GRU over 14 steps x 2 columns
    assert parity["onnx_max_abs_diff"] <= 1e-4 and parity["onnx_rows_checked"] == scores["n_test"]
    assert "MASE" in (repo / "reports/summary.md").read_text()

    recent = table.iloc[-20:]  # the last 14 of them are read
    forecast = list(csv.DictReader(predict(repo, recent, tmp_path / "recent.csv").stdout.splitlines()))
    assert [row["step"] for row in forecast] == ["1", "2", "3"]
    shuffled = predict(repo, recent.sample(frac=1, random_state=1), tmp_path / "shuffled.csv").stdout
    assert list(csv.DictReader(shuffled.splitlines())) == forecast  # read in time order, as training read them
    last_week = table["demand"].iloc[-7:]
    assert all(last_week.min() - 20 < float(row["predicted"]) < last_week.max() + 20 for row in forecast)

    gap = recent.copy()
    gap.loc[gap.index[-2], "temperature"] = None
    for broken, message in (
        (recent.iloc[-10:], "10 rows, but the model forecasts from the last 14 steps"),
        (recent.drop(columns="temperature"), "no column 'temperature'"),
        (gap, "column 'temperature', line 20: missing value"),
        (recent.assign(demand=["many"] * 20), "column 'demand', line 8: 'many' is not a number"),
        (recent.assign(day=recent["day"].iloc[0]), "column 'day', line 3: time 2025-01-15 appears twice"),
    ):
        result = predict(repo, broken, tmp_path / "broken.csv")
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr

    params["datasets"]["demand"]["data"]["season"] = 14  # read by evaluate alone: nothing retrains
    write_params(repo, params)
    ran = ran_stages(run(repo, "dvc", "repro").stdout)
    assert ran == {"validate", "evaluate", "plot", "report"}, ran
    seasonal = json.loads((repo / "metrics/demand.json").read_text())["baseline"]["seasonal_naive"]
    assert seasonal["model"] == "the value 14 steps back"


def test_a_csv_series_is_read_in_time_order_with_its_gaps_handled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/own").mkdir(parents=True)
    path = tmp_path / "data/own/series.csv"
    path.write_text("day,y\n2024-01-03,\n2024-01-01,10\n2024-01-04,40\n2024-01-02,20\n2024-01-05,50\n")
    split = {"valid_size": 0, "test_size": 0.2}
    with pytest.raises(DataError, match=re.escape("column 'y', line 2: missing value (set data.missing: interpolate")):
        read_series(series_data(time="day", split=split))
    filled = read_series(series_data(time="day", missing="interpolate", split=split))
    assert filled.values[:, 0].tolist() == [10, 20, 30, 40, 50] and filled.times[0] == "2024-01-01"
    assert read_series(series_data(time="day", missing="drop")).values[:, 0].tolist() == [10, 20, 40, 50]
    path.write_text("day,y\n1,10\n2,many\n")
    with pytest.raises(DataError, match=re.escape("column 'y', line 3: 'many' is not a number")):
        read_series(series_data(time="day"))


def test_no_window_reads_a_value_from_after_its_last_input_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/own").mkdir(parents=True)
    path = tmp_path / "data/own/series.csv"
    values = [str(float(step)) for step in range(20)]  # train: steps 0-13 (0.15 + 0.15 of 20 held out)
    values[5], values[6] = "", "1000"  # step 5 is filled from steps 4 and 6: (4 + 1000) / 2
    path.write_text("t,y\n" + "".join(f"{step},{value}\n" for step, value in enumerate(values)))
    data = series_data(window=3, horizon=1, missing="interpolate")
    series = read_series(data)
    assert series.values[5, 0] == 502
    raw = split_windows(series, data, "toy")
    # the window forecasting step 6 would read 502, made from its own target; the one forecasting step 5 would
    # be scored on 502, a value nobody observed: both are left out, the ones after kept
    assert 1000 not in raw.y_train and 502 not in raw.y_train
    assert raw.y_train[:, 0].tolist() == [3, 4, 7, 8, 9, 10, 11, 12, 13]
    assert raw.x_train[2, :, 0].tolist() == [4, 502, 1000]  # forecasting step 7, the fill is from its past
    values[5], values[13] = "5", ""  # the last train step: its next value lies in the validation period
    path.write_text("t,y\n" + "".join(f"{step},{value}\n" for step, value in enumerate(values)))
    with pytest.raises(DataError, match=re.escape("line 15: missing value (at an end of a period")):
        read_series(series_data(window=3, missing="interpolate"))


def test_predict_fills_the_recent_steps_gaps_as_training_did(tmp_path):
    info = {
        "forecast": {"window": 3, "time": "t", "missing": "interpolate"},
        "columns": ["y"],
        "scaler": {"kind": "none", "offset": [0.0], "scale": [1.0]},
    }
    path = tmp_path / "recent.csv"
    path.write_text("t,y\n4,40\n1,10\n2,\n3,30\n")  # in time order: 10, (20), 30, 40
    assert recent_window([path], info)[0, :, 0].tolist() == [20, 30, 40]
    path.write_text("t,y\n1,10\n2,20\n3,30\n4,\n")  # the last step: nothing after it to fill from
    with pytest.raises(DataError, match=re.escape("line 5: missing value (a forecast needs a value on each side")):
        recent_window([path], info)
    info["forecast"]["missing"] = "drop"
    path.write_text("t,y\n1,10\n2,20\n3,\n4,40\n")
    assert recent_window([path], info)[0, :, 0].tolist() == [10, 20, 40]


def test_mase_scale_is_the_train_periods_mean_one_step_change():
    assert mase_scale(np.array([1.0, 3.0, 2.0, 6.0])) == pytest.approx((2 + 1 + 4) / 3)


def test_the_forecast_plot_labels_each_window_with_the_steps_it_reads_and_forecasts():
    steps = np.arange(40.0)
    raw = split_windows(
        toy(steps), series_data(window=4, horizon=3, split={"valid_size": 0.25, "test_size": 0.25}), "toy"
    )
    arrays = {key: value for key, value in raw.fields().items() if isinstance(value, np.ndarray)}
    arrays |= {"source": np.array("toy"), "feature_names": np.array(["y"]), "target_names": np.array([])}
    settings = Settings(
        {
            "data": {"scaler": "none", "target_scaler": "none", "time": None, "missing": "error"},
            "loss": "mse",
            "inputs": "windows",
        }
    )
    features, info = featurize(arrays, settings, "toy")
    drawn = forecast_arrays(features, info)
    assert drawn["times"].tolist() == [str(step) for step in range(30, 38)]  # each test window's first target
    assert drawn["last_window_times"].tolist() == ["33", "34", "35", "36"]
    assert drawn["horizon_times"].tolist() == ["37", "38", "39"]
    assert drawn["last_window"].tolist() == [33, 34, 35, 36] and drawn["naive"][-1].tolist() == [36, 36, 36]


def test_a_window_sweep_validates_on_the_same_rows_a_valid_size_sweep_does_not():
    from tinynets.preprocess import rows_digest

    def digest(**keys) -> str:
        raw = split_windows(toy(np.arange(100.0)), series_data(**keys), "toy")
        return rows_digest({key: value for key, value in raw.fields().items() if value is not None}, "valid")

    split = {"valid_size": 0.2, "test_size": 0.2}
    assert digest(window=3, split=split) == digest(window=6, split=split)  # the same steps forecast
    assert digest(window=3, split=split) != digest(window=3, split={"valid_size": 0.25, "test_size": 0.2})

"""Every pair of features a user combines, met at least once: a covering array (allpairspy) over the source, the
model, a training control, the processes, the export and the device. Each run either is refused by validate's
checks in one line (the schema, or the model against the data) or trains, evaluates, predicts as evaluate did,
and exports with parity, all in one `dvc repro`."""

from __future__ import annotations

import copy
import csv
import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from allpairspy import AllPairs
from conftest import make_repo, tiny_params, tool_env, write_params
from own_data import houses, write_csv
from PIL import Image

from tinynets.checks import check_model_fits, dry_run, featurize_settings, prepare_settings
from tinynets.common.errors import ConfigError, DataError
from tinynets.common.settings import Settings
from tinynets.predict import predict_files
from tinynets.rules import parse_params

pytestmark = pytest.mark.slow

AXES = {
    "source": ["sklearn", "generated", "torchvision", "csv_table", "csv_series", "statsmodels"],
    "model": ["layers", "conv", "recurrent"],
    "control": ["valid_size", "early_stopping", "schedule", "repeats", "uneven_batch", "folds"],
    "processes": [1, 2],
    "export": [False, True],
    "device": ["cpu", "auto"],
}
CLASSES = {"sklearn": True, "generated": False, "torchvision": True, "csv_table": True}
SERIES = ("csv_series", "statsmodels")
DATA = {
    "sklearn": {"source": "sklearn", "name": "load_iris", "split": {"test_size": 0.2, "random_state": 0}},
    "generated": {"source": "generated", "name": "uniform_sum", "kwargs": {"n_samples": 120, "n_features": 6}},
    "torchvision": {"source": "torchvision", "name": "MNIST", "use": "sample", "scaler": "pixels"},
    "csv_table": {"source": "csv", "path": "data/own/houses.csv", "target": "price_band", "missing": "drop"},
    "csv_series": {
        "source": "timeseries",
        "path": "data/own/demand.csv",
        "target": "demand",
        "time": "day",
        "features": ["temperature"],
        "window": 7,
        "horizon": 2,
    },
    "statsmodels": {"source": "timeseries", "name": "sunspots", "target": "SUNACTIVITY", "time": "YEAR", "window": 6},
}
MODELS = {
    "layers": {"layers": ["auto", 8, "auto"]},
    "conv": {
        "blocks": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out": "auto"},
        ]
    },
    "recurrent": {"blocks": [{"type": "gru", "hidden": 4}, {"type": "linear", "out": "auto"}]},
}
TABLES = ("sklearn", "generated", "csv_table")  # one sample is a row: a recurrent net reads its columns as steps


# the schema refuses each with processes, with its line
PLAIN_ONLY = dict.fromkeys(
    ("valid_size", "early_stopping", "schedule", "repeats"), "train.processes: runs plain training"
)
PLAIN_ONLY["folds"] = "data.split.folds: train one process per fold"


NOT_MEANT = {  # a pair that cannot be meant, and the line validate refuses it with (each checked apart)
    ("sklearn", "conv"): "(conv2d): needs channels x height x width, but its input is 4",
    ("csv_series", "conv"): "(conv2d): its 7x2 input is smaller than kernel_size 3",
}


def meant(values: list) -> bool:
    """Whether a (partial) run can be meant: several processes train plainly, and a conv net reads images
    (refusals the schema and the shapes give with their reasons, checked apart)."""
    source, model, control, processes = (values + [None] * 4)[:4]
    return not (processes == 2 and control in PLAIN_ONLY) and not (model == "conv" and source != "torchvision")


def combinations() -> list[dict]:
    """The covering array: every pair of values of two axes that can be meant, in at least one run (allpairspy's,
    then a run for each pair its filtered search left out)."""
    runs = [dict(zip(AXES, values, strict=True)) for values in AllPairs(list(AXES.values()), filter_func=meant)]
    for first, second in itertools.combinations(AXES, 2):
        for pair in itertools.product(AXES[first], AXES[second]):
            wanted = {first: pair[0], second: pair[1]}
            if meant(list(map(wanted.get, AXES))) and not any(wanted.items() <= run.items() for run in runs):
                run = {axis: values[0] for axis, values in AXES.items()} | {"control": "uneven_batch"} | wanted
                runs.append(run | ({"source": "torchvision"} if run["model"] == "conv" else {}))
    return runs


def dataset(case: dict) -> dict:
    """One run's dataset entry in params.yaml."""
    data = copy.deepcopy(DATA[case["source"]])
    series = case["source"] in SERIES
    train = {"epochs": 1, "batch_size": 64, "optimizer": {"name": "adam"}, "lr": 0.01}
    train["loss"] = "cross_entropy" if CLASSES.get(case["source"]) else "mse"
    train |= {"processes": case["processes"], "device": case["device"]}
    validating = case["control"] in ("valid_size", "early_stopping")
    if series:
        data["split"] = {"valid_size": 0.2 if validating else 0.0, "test_size": 0.2}
    elif validating:
        train["valid_size"] = 0.25
    if case["control"] == "folds":  # a table's stratified or plain K-fold, a series' rolling origin
        data["split"] = data.get("split", {}) | {"folds": 3}
    train |= {
        "early_stopping": {"patience": 1} if case["control"] == "early_stopping" else None,
        "schedule": {"name": "step", "step_size": 1} if case["control"] == "schedule" else None,
        "repeats": 2 if case["control"] == "repeats" else 1,
    }
    if case["control"] == "uneven_batch":
        train["batch_size"] = 7  # no split size here is a multiple of 7: the last batch is short
    model = copy.deepcopy(MODELS[case["model"]])
    if case["model"] == "recurrent" and case["source"] in TABLES:
        model["blocks"].insert(0, {"type": "sequence"})
    return {"data": data, "model": model, "train": train}


def name(index: int, case: dict) -> str:
    return f"m{index:02d}_{case['source']}_{case['model']}"


def refusal(repo: Path, params: dict, dataset_name: str) -> str | None:
    """The one line validate refuses a run with (the schema, then the model against its data), or None."""
    import os

    here = os.getcwd()
    os.chdir(repo)
    try:
        parsed = parse_params(params)
        config = parsed.dataset(dataset_name)
        facts = dry_run(
            Settings(prepare_settings(parsed, dataset_name)),
            Settings(featurize_settings(parsed, dataset_name)),
            dataset_name,
        )
        check_model_fits(dataset_name, config, facts)
    except (ConfigError, DataError) as error:
        return str(error)
    finally:
        os.chdir(here)
    return None


def write_own_data(repo: Path) -> None:
    from test_series import demand_table

    write_csv(repo / "data/own/houses.csv", houses(200))
    demand_table(200).to_csv(repo / "data/own/demand.csv", index=False)


def predict(repo: Path, dataset_name: str, inputs: list[Path]) -> list[dict[str, str]]:
    """What `tinynets predict` prints for these inputs (its function, in this process: the CLI has its own tests)."""
    return list(csv.DictReader(predict_files(dataset_name, inputs, repo).splitlines()))


def prediction_inputs(repo: Path, case: dict, dataset_name: str, folder: Path) -> tuple[list[Path], slice]:
    """Files a user would give predict for some of the test rows, and which of evaluate's rows they are."""
    folder.mkdir()
    prepared = np.load(repo / f"data/prepared/{dataset_name}.npz")
    info = json.loads((repo / f"data/features/{dataset_name}.json").read_text())
    if case["source"] == "torchvision":
        paths = [folder / f"{index}.png" for index in range(3)]
        for path, image in zip(paths, prepared["x_test"][:3], strict=True):
            Image.fromarray(image).save(path)
        return paths, slice(0, 3)
    if case["source"] in SERIES:  # the last test window: every step but the last `horizon`
        horizon = info["forecast"]["horizon"]
        if case["source"] == "csv_series":
            frame = pd.read_csv(repo / "data/own/demand.csv")
        else:
            import statsmodels.datasets.sunspots as sunspots

            frame = sunspots.load_pandas().data
        frame.iloc[:-horizon].to_csv(folder / "recent.csv", index=False)
        return [folder / "recent.csv"], slice(-1, None)
    columns = {column: prepared["x_test"][:5, index] for index, column in enumerate(info["columns"])}
    for index, column in enumerate(info["text_columns"]):
        columns[column] = prepared["text_test"][:5, index]
    pd.DataFrame(columns).to_csv(folder / "rows.csv", index=False)
    return [folder / "rows.csv"], slice(0, 5)


def test_every_pair_of_features_trains_predicts_and_exports_or_is_refused_in_one_line(tmp_path):
    cases = {name(index, case): case for index, case in enumerate(combinations())}
    assert len(cases) < 40  # pairs, not the product (1,728)
    params = tiny_params(["iris"])
    repo = make_repo(tmp_path / "repo", params)
    write_own_data(repo)

    refused, accepted = {}, []
    for dataset_name, case in cases.items():  # each alone: params.yaml holding a refused one fails as a whole
        alone = copy.deepcopy(params) | {"run": [dataset_name]}
        alone["datasets"][dataset_name] = dataset(case)
        line = refusal(repo, alone, dataset_name)
        assert line is None or "\n" not in line, line
        if line is None:
            accepted.append(dataset_name)
        else:
            refused[dataset_name] = line
    table = "\n".join(f"{n}: {cases[n]} -> {refused.get(n, 'ran')}" for n in cases)
    print(table)
    for control, expected in PLAIN_ONLY.items():  # the pairs left out of the array: each refused, with its reason
        case = {"source": "sklearn", "model": "layers", "control": control, "processes": 2}
        alone = copy.deepcopy(params) | {"run": ["plain"]}
        alone["datasets"]["plain"] = dataset(case | {"export": False, "device": "cpu"})
        assert expected in refusal(repo, alone, "plain")
    for (source, model), expected in NOT_MEANT.items():
        alone = copy.deepcopy(params) | {"run": ["unmeant"]}
        case = {"source": source, "model": model, "control": "valid_size", "processes": 1}
        alone["datasets"]["unmeant"] = dataset(case | {"export": False, "device": "cpu"})
        assert expected in refusal(repo, alone, "unmeant")
    assert not refused, table  # every pair in the array can be meant: each one trains
    for first, second in itertools.combinations(AXES, 2):  # every pair of values of two axes trained together
        for pair in itertools.product(AXES[first], AXES[second]):
            if meant(list(map({first: pair[0], second: pair[1]}.get, AXES))):
                assert any((cases[n][first], cases[n][second]) == pair for n in accepted), (first, second, pair)

    # Two projects, each `dvc repro` on a core: a stage's process start-up, not its training, is the cost here
    halves = {repo: accepted[::2], make_repo(tmp_path / "other", params): accepted[1::2]}
    repros = []
    for project, names in halves.items():
        write_own_data(project)
        declared = copy.deepcopy(params) | {"run": names, "export": [n for n in names if cases[n]["export"]]}
        declared["datasets"] |= {n: dataset(cases[n]) for n in names}
        write_params(project, declared)
        repros.append(subprocess.Popen(["dvc", "repro"], cwd=project, env=tool_env(project), stderr=subprocess.PIPE))
    for repro in repros:
        _, stderr = repro.communicate()
        assert repro.returncode == 0, stderr.decode()[-3000:]

    for dataset_name in accepted:
        case, repo = cases[dataset_name], next(project for project, names in halves.items() if dataset_name in names)
        scores = json.loads((repo / f"metrics/{dataset_name}.json").read_text())
        assert ("accuracy" if CLASSES.get(case["source"]) else "mae") in scores
        evaluated = np.load(repo / f"data/predictions/{dataset_name}.npz")
        inputs, rows = prediction_inputs(repo, case, dataset_name, tmp_path / dataset_name)
        predicted = predict(repo, dataset_name, inputs)
        if CLASSES.get(case["source"]):
            classes = evaluated["classes"]
            assert [row["predicted"] for row in predicted] == classes[evaluated["y_pred"][rows]].tolist()
        else:
            expected = evaluated["y_pred"][rows].ravel()
            assert [float(row["predicted"]) for row in predicted] == pytest.approx(expected, rel=1e-4, abs=1e-4)
        learning = np.load(repo / f"data/learning/{dataset_name}.npz")
        if case["source"] in SERIES:  # a forecast's windows are no images: nothing records a first layer's tiles
            assert "first_layer" not in learning
        if case["source"] == "torchvision" and case["model"] != "recurrent":  # images: their tiles and samples
            assert {"first_layer", "filters"} & set(learning.files) and "images" in evaluated.files
        if case["export"]:
            parity = json.loads((repo / f"models/{dataset_name}.onnx.json").read_text())
            assert parity["onnx_max_abs_diff"] <= 1e-4

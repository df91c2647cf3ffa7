"""Every pair of features a user combines, met at least once: a covering array over the source, the model, the
validation (none, a hold-out, folds), early stopping, a schedule, repeats, an uneven batch, the processes, the
export and the device. Each run either is refused by validate's
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
from conftest import make_repo, tiny_params, tool_env, write_params
from own_data import houses, write_csv
from PIL import Image

from tinynets.checks import check_model_fits, dry_run, featurize_settings, prepare_settings
from tinynets.common.errors import ConfigError, DataError
from tinynets.common.settings import Settings
from tinynets.predict import predict_files
from tinynets.rules import parse_params

pytestmark = pytest.mark.slow

AXES = {  # a user's controls combine: each is an axis of its own, so a pair of them meets in some run
    "source": ["sklearn", "generated", "torchvision", "csv_table", "csv_series", "statsmodels"],
    "model": ["layers", "conv", "recurrent"],
    "validation": ["none", "valid_size", "folds"],
    "early_stopping": [False, True],
    "schedule": [False, True],
    "repeats": [1, 2],
    "batch_size": [64, 7],  # no split size here is a multiple of 7: the last batch is short
    "processes": [1, 2],
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
PLAIN = {"validation": "none", "early_stopping": False, "schedule": False, "repeats": 1}

# what the schema refuses, each checked apart with its line: a control beside several processes ...
PLAIN_ONLY = {
    ("validation", "valid_size"): "train.processes: runs plain training",
    ("validation", "folds"): "data.split.folds: train one process per fold",
    ("schedule", True): "train.processes: runs plain training",
    ("repeats", 2): "train.processes: runs plain training",
}
UNWATCHED = "train.early_stopping: watches the validation loss: set train.valid_size or data.split.folds"
NOT_MEANT = {  # ... and a pair that cannot be meant
    ("sklearn", "conv"): "(conv2d): needs channels x height x width, but its input is 4",
    ("csv_series", "conv"): "(conv2d): its 7x2 input is smaller than kernel_size 3",
}


def meant(run: dict) -> bool:
    """Whether a (partial) run can be meant: several processes train plainly, early stopping watches a validation
    split, a conv net reads images (refusals the schema and the shapes give with their reasons, checked apart)."""
    get = run.get
    plain = all(get(axis, value) == value for axis, value in PLAIN.items())
    return not (
        (get("processes") == 2 and not plain)
        or (get("early_stopping") and get("validation") == "none")
        or (get("model") == "conv" and get("source", "torchvision") != "torchvision")
    )


def covering() -> list[dict]:
    """Every pair of values of two axes that can be meant, in at least one run: greedily, the meant run that meets
    the most pairs not yet met (22 runs here, where allpairspy's filtered array took 31)."""
    every = (dict(zip(AXES, values, strict=True)) for values in itertools.product(*AXES.values()))
    candidates = [run for run in every if meant(run)]
    pairs = [set(itertools.combinations(run.items(), 2)) for run in candidates]
    unmet, runs = set().union(*pairs), []
    while unmet:
        best = max(range(len(candidates)), key=lambda index: len(pairs[index] & unmet))
        runs.append(candidates[best])
        unmet -= pairs[best]
    return runs


def combinations() -> list[dict]:
    """The covering array, each run exporting or not: an export (torch.onnx's exporter, seconds a model) in as few
    runs as meet every other axis' every value, greedily."""
    runs = [run | {"export": False} for run in covering()]
    unmet = {(axis, value) for run in runs for axis, value in run.items() if axis != "export"}
    while unmet:
        run = max(runs, key=lambda run: len(unmet & run.items()))
        run["export"] = True
        unmet -= run.items()
    return runs


def dataset(case: dict) -> dict:
    """One run's dataset entry in params.yaml."""
    data = copy.deepcopy(DATA[case["source"]])
    series = case["source"] in SERIES
    train = {"epochs": 1, "batch_size": case["batch_size"], "optimizer": {"name": "adam"}, "lr": 0.01}
    regression = "huber" if case["schedule"] else "mse"  # each meets every source of numbers
    train["loss"] = "cross_entropy" if CLASSES.get(case["source"]) else regression
    train |= {"processes": case["processes"], "device": case["device"]}
    holding_out = case["validation"] == "valid_size"
    if series:
        data["split"] = {"valid_size": 0.2 if holding_out else 0.0, "test_size": 0.2}
    elif holding_out:
        train["valid_size"] = 0.25
    if case["validation"] == "folds":  # a table's stratified or plain K-fold, a series' rolling origin
        data["split"] = data.get("split", {}) | {"folds": 3}
    train |= {
        "early_stopping": {"patience": 1} if case["early_stopping"] else None,
        "schedule": {"name": "step", "step_size": 1} if case["schedule"] else None,
        "repeats": case["repeats"],
    }
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
    assert len(cases) < 30  # pairs, not the product (6,912)
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
    plain = {axis: values[0] for axis, values in AXES.items()} | {"source": "sklearn", "model": "layers"}
    left_out = [(plain | {"processes": 2, axis: value}, line) for (axis, value), line in PLAIN_ONLY.items()]
    left_out.append((plain | {"early_stopping": True}, UNWATCHED))
    left_out += [(plain | {"source": source, "model": model}, line) for (source, model), line in NOT_MEANT.items()]
    for case, expected in left_out:  # the pairs left out of the array: each refused, with its reason
        alone = copy.deepcopy(params) | {"run": ["unmeant"]}
        alone["datasets"]["unmeant"] = dataset(case | {"export": False})
        assert expected in refusal(repo, alone, "unmeant"), case
    assert not refused, table  # every pair in the array can be meant: each one trains
    for first, second in itertools.combinations([*AXES, "export"], 2):  # every pair of values trained together
        for pair in itertools.product(*(AXES.get(axis, [False, True]) for axis in (first, second))):
            if meant({first: pair[0], second: pair[1]}):
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

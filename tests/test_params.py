"""params.yaml mistakes: each one a single line naming the key, exit code 2, and nothing written."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, default_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinynets.errors import ConfigError
from tinynets.params import parse_params


def test_the_shipped_params_are_valid():
    params = parse_params(default_params())
    assert params.run == ["iris", "mnist", "circles", "noise_linear", "noise_sigmoid", "sum30"]
    assert "fashion_mnist" in params.datasets and "fashion_mnist" not in params.run
    assert params.device_for("iris") == "auto"


def setter(path: str, value):
    def mutate(params):
        *parents, last = path.split(".")
        node = params
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value

    return mutate


def deleter(path: str):
    def mutate(params):
        *parents, last = path.split(".")
        node = params
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def sum30_as_classifier(params):
    params["datasets"]["sum30"]["train"]["loss"] = "cross_entropy"
    params["datasets"]["sum30"]["model"]["layers"] = [30, 60, 60, 2]
    params["datasets"]["sum30"]["model"]["output_activation"] = "identity"


# (case, mutation, dataset whose prepare stage runs, text the one-line error must contain)
BROKEN = [
    (
        "unknown dataset in run",
        setter("run", ["iris", "nope"]),
        "iris",
        "params.yaml: run: lists 'nope', which has no entry under datasets",
    ),
    ("empty run", setter("run", []), "iris", "params.yaml: run:"),
    ("unknown source", setter("datasets.iris.data.source", "kaggle"), "iris", "datasets.iris.data:"),
    (
        "unknown activation",
        setter("datasets.iris.model.activation", "relu6"),
        "iris",
        "datasets.iris.model.activation: Input should be",
    ),
    (
        "unknown output activation",
        setter("datasets.iris.model.output_activation", "softplus"),
        "iris",
        "datasets.iris.model.output_activation",
    ),
    ("unknown init", setter("datasets.iris.model.init", "he"), "iris", "datasets.iris.model.init"),
    ("unknown loss", setter("datasets.iris.train.loss", "hinge"), "iris", "datasets.iris.train.loss"),
    (
        "unknown optimizer",
        setter("datasets.iris.train.optimizer", {"name": "lbfgs"}),
        "iris",
        "datasets.iris.train.optimizer",
    ),
    ("unknown scaler", setter("datasets.iris.data.scaler", "robust"), "iris", "datasets.iris.data.scaler"),
    ("epochs not a number", setter("datasets.iris.train.epochs", "many"), "iris", "datasets.iris.train.epochs"),
    ("epochs zero", setter("datasets.iris.train.epochs", 0), "iris", "datasets.iris.train.epochs"),
    ("lr zero", setter("datasets.iris.train.lr", 0), "iris", "datasets.iris.train.lr: Input should be greater"),
    ("lr negative", setter("datasets.iris.train.lr", -0.1), "iris", "datasets.iris.train.lr"),
    ("batch size zero", setter("datasets.mnist.train.batch_size", 0), "iris", "datasets.mnist.train.batch_size"),
    (
        "test_size above one",
        setter("datasets.iris.data.split.test_size", 1.5),
        "iris",
        "datasets.iris.data.split.test_size",
    ),
    (
        "typo learning_rate",
        setter("datasets.iris.train.learning_rate", 0.1),
        "iris",
        "datasets.iris.train.learning_rate: unknown key",
    ),
    ("typo at the top", setter("seeds", 1), "iris", "seeds: unknown key"),
    (
        "negative momentum",
        setter("datasets.iris.train.optimizer.momentum", -1),
        "iris",
        "datasets.iris.train.optimizer.momentum",
    ),
    ("missing model", deleter("datasets.iris.model"), "iris", "datasets.iris.model: Field required"),
    ("device misspelt", setter("device", "gpu"), "iris", "device: String should match"),
    (
        "bce with three outputs",
        setter("datasets.iris.train.loss", "bce_with_logits"),
        "iris",
        "datasets.iris.train.loss: bce_with_logits needs exactly one output",
    ),
    (
        "test_kwargs on a loader",
        setter("datasets.iris.data.test_kwargs", {"a": 1}),
        "iris",
        "datasets.iris.data.test_kwargs: a freshly generated test set needs a make_* generator",
    ),
    (
        "first layer does not match features",
        setter("datasets.iris.model.layers", [5, 10, 3]),
        "iris",
        "datasets.iris.model.layers: the first size is 5, but the data has 4 features",
    ),
    (
        "last layer does not match classes",
        setter("datasets.iris.model.layers", [4, 10, 4]),
        "iris",
        "datasets.iris.model.layers: the last size is 4, but the data has 3 classes",
    ),
    (
        "cross_entropy on a regression target",
        sum30_as_classifier,
        "sum30",
        "datasets.sum30.train.loss: cross_entropy needs class labels",
    ),
    (
        "unknown sklearn function",
        setter("datasets.iris.data.name", "load_nothing"),
        "iris",
        "datasets.iris.data.name: sklearn.datasets has no 'load_nothing'",
    ),
    (
        "sklearn kwarg typo",
        setter("datasets.circles.data.kwargs", {"n_sample": 10}),
        "circles",
        "datasets.circles.data.kwargs: make_circles(): got an unexpected keyword argument 'n_sample'",
    ),
    (
        "fewer rows per batch than processes",
        setter("datasets.mnist.train.processes", 512),
        "mnist",
        "datasets.mnist.train.batch_size: must be at least processes (512)",
    ),
    (
        "more processes than training rows",
        setter("datasets.iris.train.processes", 200),
        "iris",
        "datasets.iris.train.processes: 200 processes, but only 120 training rows to share",
    ),
    (
        "explicit cuda without a GPU",
        setter("datasets.iris.train.device", "cuda"),
        "iris",
        "device 'cuda' requested, but CUDA is not available",
    ),
]


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("mutate", "dataset", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_params_fail_in_one_line_and_write_nothing(tmp_path, mutate, dataset, expected):
    if "cuda" in expected and os.environ.get("CUDA_VISIBLE_DEVICES") != "":
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present here")
    params = copy.deepcopy(default_params())
    mutate(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    before = files_under(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages/prepare.py"), dataset],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert files_under(tmp_path) == before


def test_invalid_yaml_names_the_line(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\nrun: [iris\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages/prepare.py"), "iris"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: params.yaml: not valid YAML at line")


LEAVES = []


def collect_leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            collect_leaves(value, (*path, key))
    else:
        LEAVES.append(path)


collect_leaves(default_params())
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 1000), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(LEAVES), JUNK), min_size=1, max_size=3))
def test_random_mutations_give_valid_params_or_a_one_line_config_error(mutations):
    params = copy.deepcopy(default_params())
    for path, value in mutations:
        node = params
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    try:
        parse_params(params)
    except ConfigError as error:
        message = str(error)
        assert message.startswith("params.yaml: ") and "\n" not in message

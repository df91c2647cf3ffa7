"""params.yaml mistakes: each one a single line naming the key, exit code 2, and nothing written."""

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import RUN, default_params, result_hashes, tiny_params, tool_env, write_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stages.validate import validate
from tinynets.common.errors import ConfigError
from tinynets.common.stage import EXIT_USER_ERROR, outcome
from tinynets.rules import parse_params


def test_the_shipped_params_are_valid():
    params = parse_params(default_params())
    assert params.run == ["iris", "mnist", "circles", "noise_linear", "noise_sigmoid", "sum30"]
    assert "fashion_mnist" in params.datasets and "fashion_mnist" not in params.run
    assert params.device_for("iris") == "auto"


def test_a_schema_mistake_is_reported_before_a_cross_field_one_wherever_each_is():
    params = default_params()
    params["datasets"]["iris"]["data"]["classes"] = ["a", "a", "b"]  # a rule: the first dataset
    params["datasets"]["sum30"]["train"]["lr"] = -1  # the schema: a later one
    with pytest.raises(ConfigError, match=r"^params.yaml: datasets.sum30.train.lr: Input should be greater than 0"):
        parse_params(params)
    params["datasets"]["sum30"]["train"]["lr"] = 0.01
    with pytest.raises(ConfigError, match=r"^params.yaml: datasets.iris.data.classes: each class needs its own name"):
        parse_params(params)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ({"nope": {"space": {"seed": {"type": "int", "low": 1, "high": 2}}}}, "search.nope: names no dataset"),
        ({"iris": {"space": {}}}, "search.iris.space: Dictionary should have at least 1 item"),
        (
            {"iris": {"space": {"datasets.iris.train.lr": {"type": "log_uniform", "low": 0, "high": 1}}}},
            "search.iris.space.datasets.iris.train.lr.low: Input should be greater than 0",
        ),
        (
            {
                "iris": {
                    "sampler": "grid",
                    "space": {"datasets.iris.train.lr": {"type": "uniform", "low": 0.1, "high": 1}},
                }
            },
            "search.iris.space.datasets.iris.train.lr: a grid needs values to list: use choice or int, not uniform",
        ),
        (
            {"iris": {"space": {"datasets.iris.train.lr": {"type": "uniform", "low": 0.1, "high": 0.1}}}},
            "search.iris.space.datasets.iris.train.lr.high: must be above low (0.1)",
        ),
    ],
)
def test_a_bad_search_block_is_one_line_naming_its_key(search, expected):
    params = default_params()
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = search
    with pytest.raises(ConfigError) as raised:
        parse_params(params)
    assert str(raised.value).startswith(f"params.yaml: {expected}")


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


def blocks(declared: list) -> callable:
    def mutate(params):
        params["datasets"]["mnist"]["model"] = {"blocks": declared}

    return mutate


def series(train: dict | None = None, **data) -> callable:
    """sum30 as a forecast of the yearly sunspots, with the data keys (and train keys) given."""

    def mutate(params):
        dataset = params["datasets"]["sum30"]
        dataset["data"] = {"source": "timeseries", "name": "sunspots", "target": "SUNACTIVITY", "window": 11} | data
        dataset["model"] = {"blocks": [{"type": "lstm", "hidden": 4}, {"type": "linear", "out": "auto"}]}
        dataset["train"] |= train or {}

    return mutate


def sum30_as_classifier(params):
    params["datasets"]["sum30"]["train"]["loss"] = "cross_entropy"
    params["datasets"]["sum30"]["model"]["layers"] = [30, 60, 60, 2]
    params["datasets"]["sum30"]["model"]["output_activation"] = "identity"


# (case, mutation of the test pipeline's params, text the one-line error must contain)
BROKEN = [
    (
        "unknown dataset in run",
        setter("run", ["iris", "nope"]),
        "params.yaml: run: lists 'nope', which has no entry under datasets",
    ),
    ("empty run", setter("run", []), "params.yaml: run: List should have at least 1 item"),
    ("a dataset run twice", setter("run", ["iris", "mnist", "iris"]), "params.yaml: run: lists 'iris' twice"),
    ("unknown source", setter("datasets.iris.data.source", "kaggle"), "datasets.iris.data:"),
    (
        "unknown activation",
        setter("datasets.iris.model.activation", "relu6"),
        "datasets.iris.model.activation: Input should be",
    ),
    (
        "unknown output activation",
        setter("datasets.iris.model.output_activation", "softplus"),
        "datasets.iris.model.output_activation",
    ),
    ("unknown init", setter("datasets.iris.model.init", "he"), "datasets.iris.model.init"),
    ("unknown loss", setter("datasets.iris.train.loss", "hinge"), "datasets.iris.train.loss"),
    (
        "unknown optimizer",
        setter("datasets.iris.train.optimizer", {"name": "lbfgs"}),
        "datasets.iris.train.optimizer",
    ),
    ("unknown scaler", setter("datasets.iris.data.scaler", "robust"), "datasets.iris.data.scaler"),
    ("epochs not a number", setter("datasets.iris.train.epochs", "many"), "datasets.iris.train.epochs"),
    ("epochs zero", setter("datasets.iris.train.epochs", 0), "datasets.iris.train.epochs"),
    ("lr zero", setter("datasets.iris.train.lr", 0), "datasets.iris.train.lr: Input should be greater"),
    ("lr negative", setter("datasets.iris.train.lr", -0.1), "datasets.iris.train.lr"),
    ("batch size zero", setter("datasets.mnist.train.batch_size", 0), "datasets.mnist.train.batch_size"),
    (
        "test_size above one",
        setter("datasets.iris.data.split.test_size", 1.5),
        "datasets.iris.data.split.test_size",
    ),
    (
        "typo learning_rate",
        setter("datasets.iris.train.learning_rate", 0.1),
        "datasets.iris.train.learning_rate: unknown key",
    ),
    ("typo at the top", setter("seeds", 1), "seeds: unknown key"),
    (
        "negative momentum",
        setter("datasets.iris.train.optimizer.momentum", -1),
        "datasets.iris.train.optimizer.momentum",
    ),
    ("missing model", deleter("datasets.iris.model"), "datasets.iris.model: Field required"),
    ("device misspelt", setter("device", "gpu"), "device: String should match"),
    (
        "bce with three outputs",
        setter("datasets.iris.train.loss", "bce_with_logits"),
        "datasets.iris.train.loss: bce_with_logits needs exactly one output",
    ),
    (
        "test_kwargs on a loader",
        setter("datasets.iris.data.test_kwargs", {"a": 1}),
        "datasets.iris.data.test_kwargs: a freshly generated test set needs a make_* generator",
    ),
    (
        "first layer does not match features",
        setter("datasets.iris.model.layers", [5, 10, 3]),
        "datasets.iris.model.layers: the first size is 5, but the data has 4 features",
    ),
    (
        "last layer does not match classes",
        setter("datasets.iris.model.layers", [4, 10, 4]),
        "datasets.iris.model.layers: the last size is 4, but the data has 3 classes",
    ),
    (
        "cross_entropy on a regression target",
        sum30_as_classifier,
        "datasets.sum30.train.loss: cross_entropy needs class labels",
    ),
    (
        "unknown sklearn function",
        setter("datasets.iris.data.name", "load_nothing"),
        "datasets.iris.data.name: sklearn.datasets has no 'load_nothing'",
    ),
    (
        "sklearn kwarg typo",
        setter("datasets.circles.data.kwargs", {"n_sample": 10}),
        "datasets.circles.data.kwargs: make_circles(): got an unexpected keyword argument 'n_sample'",
    ),
    (
        "fewer rows per batch than processes",
        setter("datasets.mnist.train.processes", 512),
        "datasets.mnist.train.batch_size: must be at least processes (512)",
    ),
    (
        "batch norm on several processes",
        lambda params: [
            setter("datasets.iris.model", {"blocks": [{"type": "linear", "out": 8}, {"type": "batchnorm1d"}]})(params),
            setter("datasets.iris.train.processes", 2)(params),
        ],
        "datasets.iris.train.processes: batchnorm1d normalizes by the batch each process holds",
    ),
    (
        "more processes than training rows",
        setter("datasets.iris.train.processes", 200),
        "datasets.iris.train.processes: 200 processes, but only 120 training rows to share",
    ),
    (
        "data that no longer fits the model",
        setter("datasets.iris.data.name", "load_wine"),
        "datasets.iris.model.layers: the first size is 4, but the data has 13 features",
    ),
    (
        "class names of the wrong count",
        setter("datasets.iris.data.classes", ["a", "b"]),
        "datasets.iris.data.classes: names 2 classes, but the model has 3",
    ),
    ("a class name twice", setter("datasets.iris.data.classes", ["a", "b", "a"]), "datasets.iris.data.classes: each"),
    (
        "class names that misspell a label",
        setter("datasets.iris.data.classes", ["setosa", "versicolor", "virginca"]),
        "datasets.iris.data.classes: 'virginca' is not one of the data's labels, setosa (0), versicolor (1), "
        "virginica (2)",
    ),
    (
        "class names on a regression",
        setter("datasets.sum30.data.classes", ["a", "b"]),
        "datasets.sum30.data.classes: names classes, but loss mse makes this a regression",
    ),
    (
        "target scaler on a classifier",
        setter("datasets.iris.data.target_scaler", "standard"),
        "datasets.iris.data.target_scaler: scales regression targets",
    ),
    ("unknown target scaler", setter("datasets.sum30.data.target_scaler", "log"), "datasets.sum30.data.target_scaler"),
    ("negative baseline limit", setter("evaluate.baseline_sgd_above_cells", -1), "evaluate.baseline_sgd_above_cells"),
    ("a renamed key", setter("evaluate.baseline_max_cells", 100), "renamed evaluate.baseline_sgd_above_cells: above"),
    (
        "layers and blocks both",
        setter("datasets.iris.model.blocks", [{"type": "relu"}]),
        "datasets.iris.model.layers: declare the network either as layers (an MLP) or as blocks, not both",
    ),
    (
        "auto in the middle of layers",
        setter("datasets.iris.model.layers", [4, "auto", 3]),
        "datasets.iris.model.layers: auto can stand for the first size (features) or the last (outputs) only",
    ),
    ("unknown block", blocks([{"type": "transformer"}]), "datasets.mnist.model.blocks.0"),
    ("a recurrent block without its size", blocks([{"type": "lstm"}]), "datasets.mnist.model.blocks.0.hidden"),
    ("a recurrent block of size zero", blocks([{"type": "gru", "hidden": 0}]), "datasets.mnist.model.blocks.0.hidden"),
    (
        "a recurrent block on a vector",
        setter("datasets.sum30.model", {"blocks": [{"type": "lstm", "hidden": 8}, {"type": "linear", "out": "auto"}]}),
        "datasets.sum30.model.blocks.0 (lstm): needs steps x features, but its input is 30; put a sequence block",
    ),
    (
        "steps that do not divide the inputs",
        setter("datasets.sum30.model", {"blocks": [{"type": "sequence", "features": 7}, {"type": "flatten"}]}),
        "datasets.sum30.model.blocks.0 (sequence): its 30 inputs do not make steps of 7 features each",
    ),
    (
        "recurrent dropout on a single layer",
        blocks([{"type": "rnn", "hidden": 8, "dropout": 0.2}, {"type": "linear", "out": "auto"}]),
        "datasets.mnist.model.blocks.0 (rnn): its dropout acts between stacked layers, and it has one",
    ),
    ("block option typo", blocks([{"type": "dropout", "rate": 0.5}]), "datasets.mnist.model.blocks.0.rate: unknown"),
    ("dropout of one", blocks([{"type": "dropout", "p": 1}]), "datasets.mnist.model.blocks.0.p"),
    (
        "a linear block before flatten",
        blocks([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "linear", "out": "auto"}]),
        "datasets.mnist.model.blocks.1 (linear): its input is 4x26x26; put a flatten block before it",
    ),
    (
        "a kernel larger than its input",
        blocks([{"type": "conv2d", "out_channels": 4, "kernel_size": 30}, {"type": "flatten"}]),
        "datasets.mnist.model.blocks.0 (conv2d): its 28x28 input is smaller than kernel_size 30",
    ),
    (
        "auto on a hidden linear block",
        blocks([{"type": "flatten"}, {"type": "linear", "out": "auto"}, {"type": "linear", "out": 10}]),
        "datasets.mnist.model.blocks.1.out: auto stands for the outputs: the last linear only",
    ),
    (
        "blocks that end with the wrong size",
        blocks([{"type": "flatten"}, {"type": "linear", "out": 7}]),
        "datasets.mnist.model.blocks: the network gives 7 outputs per sample, but the data needs 10",
    ),
    ("unknown schedule", setter("datasets.iris.train.schedule", {"name": "cyclic"}), "datasets.iris.train.schedule"),
    ("step size zero", setter("datasets.iris.train.schedule", {"name": "step", "step_size": 0}), "step_size"),
    ("gamma above one", setter("datasets.iris.train.schedule", {"name": "step", "step_size": 5, "gamma": 2}), "gamma"),
    ("plateau factor one", setter("datasets.iris.train.schedule", {"name": "plateau", "factor": 1}), "factor"),
    ("valid_size above one", setter("datasets.iris.train.valid_size", 1.5), "datasets.iris.train.valid_size"),
    (
        "early stopping without a validation split",
        setter("datasets.iris.train.early_stopping", {"patience": 5}),
        "datasets.iris.train.early_stopping: watches the validation loss: set train.valid_size or data.split.folds",
    ),
    (
        "one fold",
        setter("datasets.iris.data.split.folds", 1),
        "datasets.iris.data.split.folds: Input should be greater",
    ),
    (
        "folds and a hold-out",
        lambda params: (
            setter("datasets.iris.data.split.folds", 5)(params),
            setter("datasets.iris.train.valid_size", 0.2)(params),
        ),
        "datasets.iris.data.split.folds: validate on folds or on train.valid_size's hold-out, not both",
    ),
    (
        "folds too many for the rows",
        setter("datasets.iris.data.split.folds", 100),
        "datasets.iris.data.split.folds: 100 folds of 120 train rows leave fewer than 2 rows to validate on",
    ),
    (
        "folds more than a class has rows",
        setter("datasets.iris.data.split.folds", 45),
        "datasets.iris.data.split.folds: a class has 39 train rows, fewer than the 45 folds",
    ),
    (
        "folds and a plateau schedule",
        lambda params: (
            setter("datasets.iris.data.split.folds", 5)(params),
            setter("datasets.iris.train.schedule", {"name": "plateau"})(params),
        ),
        "datasets.iris.data.split.folds: the plateau schedule watches each fold's validation loss",
    ),
    (
        "folds of a series",
        series(split={"folds": 3}),
        "datasets.sum30.data.split.folds: rolling-origin folds validate inside the train period: set data.split.valid",
    ),
    ("patience zero", setter("datasets.iris.train.early_stopping", {"patience": 0}), "early_stopping.patience"),
    ("repeats zero", setter("datasets.iris.train.repeats", 0), "datasets.iris.train.repeats"),
    ("a seed past torch's", setter("datasets.iris.train.seed", 2**64 - 2), "train.seed: Input should be less"),
    ("a negative seed", setter("seed", -1), "seed: Input should be greater than or equal to 0"),
    ("a seed that is true", setter("datasets.iris.train.seed", True), "train.seed: Input should be a valid"),
    (
        "processes with repeats",
        setter("datasets.iris.train", {**tiny_params(RUN)["datasets"]["iris"]["train"], "processes": 2, "repeats": 2}),
        "datasets.iris.train.processes: runs plain training only",
    ),
    (
        "a csv outside data/own",
        setter("datasets.iris.data", {"source": "csv", "path": "tables/iris.csv", "target": "species"}),
        "datasets.iris.data.path: put the file in data/own/",
    ),
    ("export of an unknown dataset", setter("export", ["nope"]), "params.yaml: export: lists 'nope'"),
    (
        "export of a dataset not run",
        setter("export", ["fashion_mnist"]),
        "export: lists 'fashion_mnist', which is not in run",
    ),
    (
        "a fresh test set that is another task",
        setter("datasets.circles.data", {"source": "sklearn", "name": "make_classification", "test_kwargs": {}}),
        "datasets.circles.data.test_kwargs: make_classification draws another task for another random_state",
    ),
    (
        "a split that leaves a class without train rows",
        setter("datasets.iris.data.split.test_size", 0.99),  # one train row: one class
        "datasets.iris.data.split: class",
    ),
    (
        "a sigmoid before cross_entropy",
        setter("datasets.circles.model.output_activation", "sigmoid"),
        "datasets.circles.model.output_activation: cross_entropy applies its own softmax to the raw outputs",
    ),
    (
        "blocks that end with an activation before cross_entropy",
        blocks([{"type": "flatten"}, {"type": "linear", "out": "auto"}, {"type": "tanh"}]),
        "datasets.mnist.model.blocks.2: cross_entropy applies its own softmax",
    ),
    (
        "a stratified split of a regression",
        setter("datasets.sum30.data.split", {"stratify": True}),
        "datasets.sum30.data.split.stratify: splits by class, but loss mse has no classes",
    ),
    (
        "a validation share that leaves too few rows to stratify",
        setter("datasets.iris.train.valid_size", 0.99),
        "datasets.iris.train.valid_size: cannot hold out 0.99 of 120 train rows",
    ),
    ("a horizon of zero", series(horizon=0), "datasets.sum30.data.horizon"),
    ("a window of zero", series(window=0), "datasets.sum30.data.window"),
    ("an unknown series", series(name="tides"), "datasets.sum30.data.name"),
    ("a series file outside data/own", series(name=None, path="series.csv"), "datasets.sum30.data.path: put the file"),
    ("a feature that is the target", series(features=["SUNACTIVITY"]), "datasets.sum30.data.features: name each"),
    ("an unknown way to fill gaps", series(missing="mean"), "datasets.sum30.data.missing"),
    ("a time column that is not there", series(time="DATE"), "no column 'DATE' (the columns are: YEAR, SUNACTIVITY)"),
    (
        "a series with a name and a path",
        series(path="data/own/x.csv"),
        "datasets.sum30.data.name: name a statsmodels series or give the path of a CSV, one of the two",
    ),
    (
        "a season longer than the window",
        series(season=12),
        "datasets.sum30.data.season: the value 12 steps back must lie in the window",
    ),
    ("a series split with no train period", series(split={"valid_size": 0.5, "test_size": 0.5}), "no train period"),
    (
        "a random hold-out of a series",
        series(train={"valid_size": 0.2}),
        "datasets.sum30.train.valid_size: a random hold-out does not apply to a series",
    ),
    (
        "a forecast as classes",
        series(train={"loss": "cross_entropy"}),
        "datasets.sum30.train.loss: a forecast is numbers, not classes",
    ),
    (
        "a window longer than the train period",
        series(window=250),
        "datasets.sum30.data.window: 250 steps in and 1 ahead do not fit the train period (217 of the 309 steps)",
    ),
    ("a series column that is not there", series(target="SUNSPOTS"), "no column 'SUNSPOTS' (the columns are: YEAR"),
    (
        "explicit cuda without a GPU",
        setter("datasets.iris.train.device", "cuda"),
        "device 'cuda' requested, but CUDA is not available",
    ),
]


@pytest.fixture(scope="module")
def checked(pristine_pipeline, tmp_path_factory) -> Path:
    """One copy of the committed pipeline that every broken case validates in-process in turn."""
    return Path(shutil.copytree(pristine_pipeline, tmp_path_factory.mktemp("checked") / "repo", symlinks=True))


def snapshot(repo: Path) -> dict[str, tuple[int, int]]:
    """Every file's and folder's size and modification time but params.yaml's: a file written, even with the
    same bytes, or one left behind, changes it."""
    return {
        str(path.relative_to(repo)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in repo.rglob("*")
        if path != repo / "params.yaml"
    }


def validated(repo: Path, params: dict | str, capsys, monkeypatch) -> tuple[int, str]:
    """The validate stage's exit code and stderr for these params (a dict, or the file's text), run in-process
    in `repo`, which the caller checks is left as it was."""
    monkeypatch.chdir(repo)
    text = params if isinstance(params, str) else yaml.safe_dump(params, sort_keys=False)
    (repo / "params.yaml").write_text(text)
    capsys.readouterr()
    code = outcome(validate)
    return code, capsys.readouterr().err


def assert_one_error_line(code: int, stderr: str, expected: str) -> None:
    assert code == EXIT_USER_ERROR
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], stderr
    assert "Traceback" not in stderr


def no_gpu_here(expected: str) -> None:
    """Skip the in-process cuda case where torch sees a GPU (the dvc repro case hides it)."""
    if "cuda" in expected:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present here")


IN_PROCESS = pytest.mark.xdist_group("checked")  # one worker, in a row, validates in `checked`


@pytest.mark.slow
@IN_PROCESS
@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_params_fail_in_one_line_and_lose_nothing(checked, mutate, expected, capsys, monkeypatch):
    no_gpu_here(expected)
    params = tiny_params(RUN)
    mutate(params)
    before = snapshot(checked)
    assert_one_error_line(*validated(checked, params, capsys, monkeypatch), expected)
    assert snapshot(checked) == before


# One case of each kind through the real `dvc repro`: a schema error, a rule across fields, one that reads the
# data, one that reads a series, the device; and every list DVC itself reads (dvc.yaml's foreach over run and
# export), before validate runs.
THROUGH_DVC = [
    "typo learning_rate",
    "bce with three outputs",
    "first layer does not match features",
    "a window longer than the train period",
    "explicit cuda without a GPU",
    "unknown dataset in run",
    "empty run",
    "a dataset run twice",
    "export of an unknown dataset",
    "export of a dataset not run",
]
assert set(THROUGH_DVC) <= {case[0] for case in BROKEN}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [case[1:] for case in BROKEN if case[0] in THROUGH_DVC],
    ids=[case[0] for case in BROKEN if case[0] in THROUGH_DVC],
)
def test_dvc_repro_with_broken_params_fails_in_one_line_and_loses_nothing(workspace, mutate, expected):
    params = tiny_params(RUN)
    mutate(params)
    write_params(workspace, params)
    before = result_hashes(workspace)
    hidden = {"CUDA_VISIBLE_DEVICES": ""}  # a GPU here would satisfy the cuda case
    result = subprocess.run(
        ["dvc", "repro"], cwd=workspace, env=tool_env(workspace) | hidden, capture_output=True, text=True
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "failed to reproduce 'validate'" in result.stderr  # before any stage removed an output
    assert result_hashes(workspace) == before


BROKEN_YAML = "seed: 1\ndevice: cpu: gpu\nrun: [iris]\n"  # line 2: a colon in a plain value


@pytest.mark.slow
@IN_PROCESS
def test_invalid_yaml_names_the_line_and_loses_nothing(checked, capsys, monkeypatch):
    before = snapshot(checked)
    assert_one_error_line(
        *validated(checked, BROKEN_YAML, capsys, monkeypatch), "params.yaml: not valid YAML at line 2"
    )
    assert snapshot(checked) == before


@pytest.mark.slow
def test_dvc_repro_with_invalid_yaml_names_the_line_and_loses_nothing(workspace):
    (workspace / "params.yaml").write_text(BROKEN_YAML)
    before = result_hashes(workspace)
    result = subprocess.run(["dvc", "repro"], cwd=workspace, env=tool_env(workspace), capture_output=True, text=True)
    assert result.returncode != 0  # DVC reads params.yaml first (for dvc.yaml's foreach): its message, its line
    assert "'params.yaml', YAML file structure is corrupted" in result.stderr and "line 2" in result.stderr
    assert result_hashes(workspace) == before


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

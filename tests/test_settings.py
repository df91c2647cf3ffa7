"""The settings the stages read: validate's resolution of params.yaml, read back as plain data."""

import copy
import pickle

import pytest
import yaml
from conftest import ROOT

from tinynets.checks import settings_files
from tinynets.common import paths
from tinynets.common.settings import Settings, digest, plain
from tinynets.models import build_model
from tinynets.rules import parse_params
from tinynets.training.optimizers import make_optimizer


def default_settings() -> dict:
    return {
        path.as_posix(): data
        for path, data in settings_files(parse_params(yaml.safe_load((ROOT / "params.yaml").read_text()))).items()
    }


def test_every_default_is_written_out():
    train = Settings(default_settings()["settings/sum30/train.json"])
    assert train.train.optimizer.betas == (0.9, 0.999)  # params.yaml leaves Adam's betas to the default
    assert train.train.shuffle is True and train.model.init_std == 0.01 and train.device == "auto"
    prepare = default_settings()["settings/iris/prepare.json"]
    assert prepare["data"]["split"] == {"test_size": 0.2, "random_state": 42, "stratify": False}
    assert "scaler" not in prepare["data"]  # featurize's alone: renaming classes does not prepare again
    assert default_settings()["settings/iris/featurize.json"]["data"]["scaler"] == "minmax"


def test_each_stage_gets_only_its_datasets_settings():
    files = default_settings()
    run = yaml.safe_load((ROOT / "params.yaml").read_text())["run"]
    expected = {paths.RUN_SETTINGS.as_posix(), paths.EVALUATE_SETTINGS.as_posix()}
    for name in run:
        expected |= {f"settings/{name}/{stage}.json" for stage in ("prepare", "featurize", "train")}
    assert set(files) == expected and files["settings/run.json"] == {"run": run}


def test_a_view_reads_like_the_schema_and_builds_the_same_things():
    train = Settings(default_settings()["settings/mnist/train.json"])
    model = build_model(train.model, (28, 28), 10)
    assert [type(module).__name__ for module in model] == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    optimizer = make_optimizer(list(model.parameters()), train.train.optimizer, train.train.lr)
    assert type(optimizer).__name__ == "Sgd" and optimizer.lr == 0.2


def test_a_view_is_read_only_and_survives_copy_and_pickle():
    view = Settings({"kwargs": {"centers": [[0, 1], [2, 3]]}, "layers": [4, "auto", 3]})
    assert view.layers == (4, "auto", 3)  # lists read as tuples
    assert dict(view.kwargs) == {"centers": [[0, 1], [2, 3]]}  # a free-form table keeps plain values
    with pytest.raises(AttributeError):
        view.layers = [1]
    with pytest.raises(AttributeError):
        _ = view.missing
    assert copy.deepcopy(view) == view == pickle.loads(pickle.dumps(view))
    assert plain(view) == {"kwargs": {"centers": [[0, 1], [2, 3]]}, "layers": [4, "auto", 3]}


def test_the_digest_ignores_key_order():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1}) != digest({"a": 1, "b": [2, 1]})


def test_a_training_seed_moves_the_models_seeds_and_leaves_the_data_split_alone():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["datasets"]["iris"]["train"]["seed"] = 7
    files = {path.as_posix(): data for path, data in settings_files(parse_params(params)).items()}
    assert files["settings/iris/train.json"]["seed"] == 7 and "seed" not in files["settings/iris/train.json"]["train"]
    assert files["settings/iris/prepare.json"] == default_settings()["settings/iris/prepare.json"]  # seed 42
    params["datasets"]["iris"]["train"]["seed"] = 42  # the global seed said twice: nothing reruns
    files = {path.as_posix(): data for path, data in settings_files(parse_params(params)).items()}
    assert files == default_settings()  # where params.yaml leaves it null


def test_iris_lists_every_train_key_so_dvc_exp_run_s_can_set_any():
    from tinynets.params import TrainConfig

    iris = yaml.safe_load((ROOT / "params.yaml").read_text())["datasets"]["iris"]["train"]
    assert set(iris) == set(TrainConfig.model_fields)  # DVC's -S changes only keys that exist (README)

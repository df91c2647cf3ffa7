import os
import pickle

import pytest
import torch

from tinynets.common.errors import DataError
from tinynets.modelfile import load_model, read_info, save_model
from tinynets.models import build_mlp
from tinynets.params import ModelConfig
from tinynets.training.checkpoints import load_state


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_saved_model_loads_back_with_its_facts(tmp_path):
    model = build_mlp(ModelConfig(layers=[4, 10, 3]))
    save_model(tmp_path / "m.safetensors", model, device="cpu", model={"layers": [4, 10, 3]})
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded["device"] == "cpu" and loaded["model"] == {"layers": [4, 10, 3]}
    assert torch.equal(loaded["state_dict"]["1.weight"], model.state_dict()["1.weight"])
    assert read_info(tmp_path / "m.safetensors") == {"device": "cpu", "model": {"layers": [4, 10, 3]}}


def test_same_weights_give_the_same_bytes_whatever_the_file_name(tmp_path):
    torch.manual_seed(0)
    model = build_mlp(ModelConfig(layers=[4, 10, 3]))
    info = {"dataset": "iris", "device": "cpu", "processes": 1, "seed": 42}
    save_model(tmp_path / "a.safetensors", model, **info)
    save_model(tmp_path / "b.safetensors", model, **dict(reversed(info.items())))
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_a_crafted_pickle_at_a_model_path_is_refused_and_never_run(in_tmp):
    path = in_tmp / "models" / "iris.safetensors"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"state_dict": Exploit()}))
    with pytest.raises(DataError, match="refused to load"):
        load_model(path)
    assert not (in_tmp / "pwned").exists()


def test_a_crafted_pickle_at_a_checkpoint_path_is_refused_and_never_run(in_tmp):
    path = in_tmp / "checkpoints" / "iris.pt"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"state_dict": Exploit()}))
    with pytest.raises(DataError, match="refused to load"):
        load_state(path)
    assert not (in_tmp / "pwned").exists()


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", ""])
def test_a_checkpoint_period_that_is_not_seconds_is_refused_in_one_line(monkeypatch, value):
    from tinynets.common.errors import TrainingError
    from tinynets.training.checkpoints import save_period

    monkeypatch.setenv("TINYNETS_CHECKPOINT_SECONDS", value)
    with pytest.raises(TrainingError, match=r"^TINYNETS_CHECKPOINT_SECONDS=.*: give the least seconds between"):
        save_period()
    monkeypatch.setenv("TINYNETS_CHECKPOINT_SECONDS", "0.5")
    assert save_period() == 0.5

import os
import pickle

import pytest
import torch

from tinynets.checkpoints import load_model, save_model
from tinynets.errors import DataError
from tinynets.models import build_mlp
from tinynets.params import ModelConfig


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_saved_model_loads_back(tmp_path):
    model = build_mlp(ModelConfig(layers=[4, 10, 3]))
    save_model(tmp_path / "m.pt", model, device="cpu")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded["device"] == "cpu"
    assert torch.equal(loaded["state_dict"]["1.weight"], model.state_dict()["1.weight"])


def test_a_crafted_pickle_at_a_model_path_is_refused_and_never_run(in_tmp):
    path = in_tmp / "models" / "iris.pt"
    path.parent.mkdir()
    path.write_bytes(pickle.dumps({"state_dict": Exploit()}))
    with pytest.raises(DataError, match="refused to load"):
        load_model(path)
    assert not (in_tmp / "pwned").exists()

"""Recurrent blocks: torch's RNN, LSTM and GRU read steps x features, and their nets do what every net does."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from conftest import killed_after, make_repo, run, tiny_params

from tinynets.blocks import described
from tinynets.common.errors import ConfigError
from tinynets.modelfile import load_model
from tinynets.params import ModelConfig
from tinynets.recurrent import LastHidden
from tinynets.shapes import trace

SEQUENCE_NET = [{"type": "sequence", "features": 1}, {"type": "lstm", "hidden": 32}, {"type": "linear", "out": "auto"}]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one direction", "bidirectional"])
def test_the_block_gives_the_top_layers_state_after_the_last_step(cell, bidirectional):
    torch.manual_seed(0)
    x = torch.randn(4, 7, 3)
    block = LastHidden(cell, features=3, hidden=5, layers=2, bidirectional=bidirectional, dropout=0.0)
    every_step, _ = block.recurrent(x)  # the top layer's output at every step: (batch, steps, directions x hidden)
    expected = every_step[:, -1, :5]
    if bidirectional:  # the backward direction ends its reading at the first step
        expected = torch.cat([expected, every_step[:, 0, 5:]], dim=1)
    assert torch.equal(block(x), expected)


def shapes(blocks: list[dict], input_shape: tuple[int, ...], outputs: int = 1) -> list[tuple]:
    return [
        (layer.shape_in, layer.shape_out) for layer in trace("ds", ModelConfig(blocks=blocks), input_shape, outputs)
    ]


def test_a_vector_becomes_steps_and_the_last_state_feeds_the_linear_layer():
    assert shapes(SEQUENCE_NET, (30,)) == [((30,), (30, 1)), ((30, 1), (32,)), ((32,), (1,))]
    by_rows = [{"type": "gru", "hidden": 16, "layers": 2, "bidirectional": True}, {"type": "linear", "out": "auto"}]
    assert shapes(by_rows, (28, 28), outputs=10) == [((28, 28), (32,)), ((32,), (10,))]  # an image, row by row
    pairs = [{"type": "sequence", "features": 2}, {"type": "rnn", "hidden": 4}, {"type": "linear", "out": 1}]
    assert shapes(pairs, (30,))[0] == ((30,), (15, 2))


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (
            [{"type": "lstm", "hidden": 8}],
            "blocks.0 (lstm): needs steps x features, but its input is 30; put a sequence",
        ),
        ([{"type": "sequence", "features": 4}], "blocks.0 (sequence): its 30 inputs do not make steps of 4 features"),
        (
            [{"type": "sequence"}, {"type": "gru", "hidden": 8, "dropout": 0.5}],
            "blocks.1 (gru): its dropout acts between stacked layers, and it has one: set layers above 1",
        ),
        ([{"type": "sequence"}, {"type": "lstm", "hidden": 8}], "the network gives 8 outputs per sample, but the data"),
    ],
)
def test_a_recurrent_mistake_names_its_block(blocks, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        shapes(blocks, (30,))


def test_a_sequence_block_on_a_series_says_to_leave_it_out():
    with pytest.raises(ConfigError, match=re.escape("blocks.0 (sequence): its input is 11x1, already steps x")):
        shapes([{"type": "sequence"}, {"type": "lstm", "hidden": 8}, {"type": "linear", "out": 1}], (11, 1))


def test_a_recurrent_block_is_described_with_its_defaults():
    block = {"bidirectional": False, "dropout": 0.0, "hidden": 32, "layers": 1, "type": "lstm"}  # a model file's
    assert described(block) == "lstm (hidden 32, layers 1, bidirectional False, dropout 0.0)"


def sum30_rnn(epochs: int, **lstm) -> dict:
    """Tiny params running sum30_rnn alone: fewer rows, a smaller LSTM."""
    params = tiny_params(["sum30_rnn"])
    dataset = params["datasets"]["sum30_rnn"]
    dataset["data"]["kwargs"]["n_samples"] = 2000
    dataset["model"]["blocks"][1] |= {"hidden": 16, **lstm}
    dataset["train"]["epochs"] = epochs
    return params


@pytest.mark.slow
def test_a_sequence_net_learns_the_sum_exports_and_predicts(tmp_path):
    params = sum30_rnn(epochs=8)
    params["export"] = ["sum30_rnn"]
    repo = make_repo(tmp_path / "repo", params)
    run(repo, "dvc", "repro")

    scores = json.loads((repo / "metrics/sum30_rnn.json").read_text())
    assert scores["r2"] > 0.9  # the full entry (9,600 rows, 10 epochs, 32 units) reaches 0.99; see README
    assert scores["parameters"] == 4 * (16 * (1 + 16) + 2 * 16) + 16 + 1
    parity = json.loads((repo / "models/sum30_rnn.onnx.json").read_text())
    assert parity["onnx_max_abs_diff"] <= 1e-4 and parity["onnx_rows_checked"] > 0
    page = (repo / "reports/index.html").read_text()
    assert "sequence (features 1) → lstm (hidden 16, layers 1, bidirectional False, dropout 0.0) → linear" in page

    numbers = [(index * 37) % 101 / 100 for index in range(30)]  # spread over 0..1, as the training rows are
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"x{index + 1}" for index in range(30)) + "\n" + ",".join(map(str, numbers)))
    predicted = run(repo, "tinynets", "predict", "sum30_rnn", str(rows)).stdout
    assert float(next(csv.DictReader(predicted.splitlines()))["predicted"]) == pytest.approx(sum(numbers), abs=1)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path)["state_dict"]


@pytest.mark.slow
def test_a_killed_recurrent_run_resumes_bit_identically(tmp_path):
    # two layers with dropout between them: the resumed run must restore the RNG dropout draws from
    repo = make_repo(tmp_path / "repo", sum30_rnn(epochs=12, layers=2, dropout=0.2))
    run(repo, "dvc", "repro", "featurize@sum30_rnn")
    killed_after(repo, "sum30_rnn", repo / "checkpoints/sum30_rnn.pt")

    resumed = run(repo, "dvc", "repro", "train@sum30_rnn")
    assert "sum30_rnn: resuming at epoch" in resumed.stdout
    kept = weights(repo / "models/sum30_rnn.safetensors"), (repo / "plots/loss/sum30_rnn.tsv").read_bytes()
    run(repo, "dvc", "repro", "--force", "train@sum30_rnn")  # uninterrupted
    for key, tensor in weights(repo / "models/sum30_rnn.safetensors").items():
        assert torch.equal(kept[0][key], tensor), key
    assert (repo / "plots/loss/sum30_rnn.tsv").read_bytes() == kept[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("blocks", "shape"),
    [
        ([{"type": "linear", "out": 3}], (4,)),
        ([{"type": "gru", "hidden": 4, "layers": 2, "bidirectional": True}, {"type": "linear", "out": 1}], (6, 2)),
    ],
    ids=["linear", "two-layer bidirectional gru"],
)
def test_an_export_from_a_one_row_test_set_reads_any_number_of_rows(tmp_path, blocks, shape):
    import numpy as np
    import onnxruntime

    from tinynets.common.settings import plain
    from tinynets.export import export_onnx
    from tinynets.inference import eval_outputs
    from tinynets.modelfile import save_model
    from tinynets.models import build_model

    config = ModelConfig(blocks=blocks)
    torch.manual_seed(0)
    model = build_model(config, shape, blocks[-1]["out"])
    save_model(
        tmp_path / "m.safetensors",
        model,
        dataset="toy",
        model=plain(config),
        input_shape=list(shape),
        outputs=blocks[-1]["out"],
    )
    x = np.random.default_rng(0).random((5, *shape)).astype(np.float32)
    parity = export_onnx(load_model(tmp_path / "m.safetensors"), x[:1], tmp_path / "m.onnx")
    assert parity["onnx_rows_checked"] == 1 and parity["onnx_max_abs_diff"] <= 1e-4
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    exported = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(exported - eval_outputs(model, torch.from_numpy(x)).numpy()).max() <= 1e-4

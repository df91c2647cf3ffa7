"""What train records while a net learns, and the figures drawn from it: the records are the net's own figures,
recording changes no weight, and every figure comes out the same, byte for byte."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from conftest import changed_frames, gif_frames
from sklearn.datasets import make_circles
from torch import nn

from tinynets.common import files
from tinynets.common.facts import network_figure_skipped
from tinynets.learning_plots import class_regions, draw_learning, output_names
from tinynets.models import build_model
from tinynets.params import ModelConfig, TrainConfig
from tinynets.training.checkpoints import Checkpoint
from tinynets.training.loop import fit, start_run
from tinynets.training.progress import Monitor
from tinynets.training.recording import Recorder, dynamics_epochs, hidden_layers, layer_names, learned, spaced_epochs
from tinynets.training.steps import make_step
from tinynets.training.tensors import ONE_PROCESS, to_tensors

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def circles() -> dict[str, np.ndarray]:
    x, y = make_circles(400, factor=0.3, noise=0.1, random_state=0)
    x = x.astype(np.float32)
    return {"x_train": x[:300], "y_train": y[:300], "x_test": x[300:], "y_test": y[300:]}


def trained(model_config: ModelConfig, arrays: dict, epochs: int = 60, record: bool = True, batch_size=None):
    """Train a net on `arrays` (seed 0) through the stage's own step and loop; the run, model, data, recorder."""
    torch.manual_seed(0)
    data = to_tensors(arrays, "cross_entropy", torch.device("cpu"))
    model = build_model(model_config, tuple(arrays["x_train"].shape[1:]), 2)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer={"name": "sgd"}, lr=0.5, loss="cross_entropy")
    run = start_run(model, config, seed=0)
    recorder = Recorder(model, epochs, data, plane=arrays["x_train"].shape[1] == 2) if record else None
    if recorder:
        run.records = recorder.blank(2, torch.device("cpu"))
    monitor = Monitor("circles", epochs, config.lr, stream=io.StringIO())

    def on_epoch(run):
        if recorder:
            recorder(run)
        monitor(run)

    step = make_step(run.model, run.optimizer, model_config, config.loss, ONE_PROCESS, batch_size or len(data.x_train))
    fit(run, data, config, step, on_epoch)
    return run, model, data, recorder


MLP = ModelConfig(layers=[2, 8, 2], activation="relu")
WITH_DROPOUT = ModelConfig(
    blocks=[
        {"type": "linear", "out": 16},
        {"type": "relu"},
        {"type": "dropout", "p": 0.5},
        {"type": "linear", "out": "auto"},
    ]
)


def test_recorded_epochs_are_dense_early_and_end_at_the_last():
    assert dynamics_epochs(50) == list(range(1, 51))
    long = dynamics_epochs(20000)
    assert long[0] == 1 and long[-1] == 20000 and len(long) <= 200 and long == sorted(set(long))
    assert sum(epoch <= 100 for epoch in long) > 20  # the early change, log-spaced
    frames = spaced_epochs(5000, 40)
    assert frames[0] == 1 and frames[-1] == 5000 and len(frames) >= 30


def test_the_records_are_the_nets_own_norms_and_dead_units():
    run, model, data, recorder = trained(MLP, circles())
    hidden, output = model[1], model[3]
    with torch.no_grad():  # unit 1 never fires again: it is dead, and the records must say so
        hidden.weight[0] = 0.0
        hidden.bias[0] = -1.0
    recorder(run)  # records epoch 60 again, from the weights as they are now
    table = recorder.dynamics_table(run)
    last = {layer: index for index, layer in enumerate(table["layer"]) if table["epoch"][index] == 60}
    assert table["weight_norm"][last["linear1"]] == pytest.approx(float(torch.linalg.norm(hidden.weight)), rel=1e-6)
    assert table["weight_norm"][last["linear2"]] == pytest.approx(float(torch.linalg.norm(output.weight)), rel=1e-6)
    assert table["grad_norm"][last["linear2"]] == pytest.approx(float(torch.linalg.norm(output.weight.grad)), rel=1e-6)
    units = torch.relu(data.x_train @ hidden.weight.T + hidden.bias)
    dead = float((units.amax(dim=0) <= 0).float().mean())
    assert dead >= 1 / 8 and table["dead"][last["linear1"]] == pytest.approx(dead)
    assert np.isnan(table["dead"][last["linear2"]])  # an output layer has no hidden units
    assert sorted(set(table["epoch"])) == list(range(1, 61))


@pytest.mark.parametrize("config", [MLP, WITH_DROPOUT], ids=["explicit MLP", "autograd with dropout"])
def test_recording_changes_no_weight_and_no_loss(config):
    arrays = circles()
    recorded, recorded_model, _, _ = trained(config, arrays, epochs=30, batch_size=64)
    plain, plain_model, _, _ = trained(config, arrays, epochs=30, batch_size=64, record=False)
    assert torch.equal(recorded.history, plain.history)
    for key, value in plain_model.state_dict().items():
        assert torch.equal(recorded_model.state_dict()[key], value), key


def test_hidden_layers_see_a_relu_through_dropout():
    model = build_model(WITH_DROPOUT, (2,), 2)
    names = layer_names(model)
    assert list(names.values()) == ["linear1", "linear2"]
    [layer] = hidden_layers(model, names)
    assert (layer.layer, layer.relu) == ("linear1", True)


def test_frames_are_the_nets_class_probabilities_over_the_plane():
    run, model, _, recorder = trained(MLP, circles())
    frames = recorder.frames(run, "cross_entropy")
    assert list(frames["frame_epochs"]) == spaced_epochs(60, 40)
    side = len(frames["frame_x"])
    last = frames["frames"][-1].astype(np.float32)
    assert last.shape == (side, side, 2) and np.allclose(last.sum(axis=-1), 1, atol=2e-3)
    grid_x, grid_y = np.meshgrid(frames["frame_x"], frames["frame_y"])
    points = torch.from_numpy(np.stack([grid_x.ravel(), grid_y.ravel()], axis=1))
    expected = torch.softmax(model(points), dim=1).detach().numpy().reshape(side, side, 2)
    assert np.allclose(last, expected, atol=1e-3)


def test_what_a_net_learned_is_read_from_its_own_layers():
    x = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    arrays = {"x_train": x[:30], "y_train": np.arange(30) % 2, "x_test": x[30:], "y_test": np.arange(10) % 2}
    data = to_tensors(arrays, "cross_entropy", torch.device("cpu"))
    mlp = build_model(ModelConfig(layers=[784, 100, 2]), (28, 28), 2)
    tiles = learned(mlp, data, [784, 100, 2], images=True)["first_layer"]
    assert "first_layer" not in learned(mlp, data, [784, 100, 2], images=False)  # a forecast's windows, say
    assert tiles.shape == (64, 28, 28) and np.array_equal(tiles[5], mlp[1].weight[5].detach().reshape(28, 28).numpy())
    conv = ModelConfig(
        blocks=[
            {"type": "conv2d", "out_channels": 4, "kernel_size": 5},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "out": 2},
        ]
    )
    net = build_model(conv, (28, 28), 2)
    figures = learned(net, data, None, images=True)
    layer = next(module for module in net if isinstance(module, nn.Conv2d))
    assert figures["filters"].shape == (4, 5, 5)
    image = data.x_test[:1].float().div(255).unsqueeze(1)
    assert np.allclose(figures["feature_maps"], layer(image)[0].detach().numpy(), atol=1e-6)
    assert "network_1" not in figures and network_figure_skipped([784, 100, 2]).startswith("886 units")


def test_an_unsure_net_still_shows_its_decision_and_a_sure_one_its_class():
    unsure, sure = class_regions(np.array([[[0.49, 0.51]]])), class_regions(np.array([[[0.0, 1.0]]]))
    white = np.ones(3)
    assert 0.05 < np.abs(unsure - white).max() < np.abs(sure - white).max()
    assert np.argmin(sure[0, 0]) == np.argmin(class_regions(np.array([[[0.4, 0.6]]]))[0, 0])  # the same hue


def test_the_learning_figures_are_drawn_and_the_same_bytes_twice(tmp_path):
    run, model, data, recorder = trained(MLP, circles(), epochs=300)
    learning = recorder.frames(run, "cross_entropy") | learned(model, data, MLP.layers, images=False)
    history = run.history.numpy()
    curve = {"epoch": np.arange(1, 301), "train": history[:, 0], "test": history[:, 1]}
    predictions = {"x_test": data.x_test.numpy(), "y_true": data.y_test.numpy(), "classes": np.array(["out", "in"])}
    files.write_tsv(tmp_path / "dynamics.tsv", recorder.dynamics_table(run))
    dynamics = files.read_tsv(tmp_path / "dynamics.tsv")
    for folder in ("first", "second"):
        draw_learning("circles", learning, dynamics, curve, predictions, None, tmp_path / folder)
    drawn = sorted(path.name for path in (tmp_path / "first").iterdir())
    assert drawn == ["dynamics.png", "network.png", "neurons.png", "training.gif"]
    for name in drawn:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name
    frames = gif_frames(tmp_path / "first/training.gif")
    assert len(frames) >= 20 and changed_frames(frames) == len(frames) - 1


def test_a_table_with_text_and_missing_numbers_round_trips(tmp_path):
    columns = {"epoch": [1, 2], "layer": ["linear1", "linear2"], "dead": [0.25, float("nan")]}
    files.write_tsv(tmp_path / "t.tsv", columns)
    assert (tmp_path / "t.tsv").read_text() == "epoch\tlayer\tdead\n1\tlinear1\t0.25\n2\tlinear2\t\n"
    read = files.read_tsv(tmp_path / "t.tsv")
    assert read["layer"].tolist() == ["linear1", "linear2"] and read["epoch"].tolist() == [1, 2]
    assert read["dead"][0] == 0.25 and np.isnan(read["dead"][1])


def test_a_resumed_run_records_what_an_uninterrupted_one_does(tmp_path):
    whole, _, data, _ = trained(MLP, circles(), epochs=40)
    config = TrainConfig(epochs=40, optimizer={"name": "sgd"}, lr=0.5, loss="cross_entropy")
    checkpoint = Checkpoint(tmp_path / "run.pt", "the same run")

    def interrupted(stop_at: int | None):
        torch.manual_seed(0)
        model = build_model(MLP, (2,), 2)
        run = start_run(model, config, seed=0)
        recorder = Recorder(model, 40, data, plane=True)
        run.records = recorder.blank(2, torch.device("cpu"))
        checkpoint.restore(run)

        def on_epoch(run):
            recorder(run)
            if run.epoch == stop_at:
                checkpoint.save(run)
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt) if stop_at else contextlib.nullcontext():
            fit(
                run,
                data,
                config,
                make_step(run.model, run.optimizer, MLP, config.loss, ONE_PROCESS, len(data.x_train)),
                on_epoch,
            )
        return run

    interrupted(stop_at=17)
    resumed = interrupted(stop_at=None)
    assert resumed.epoch == 40 and torch.equal(resumed.history, whole.history)
    for key, records in whole.records.items():  # NaN where a record is not due: equal NaNs count as equal
        torch.testing.assert_close(resumed.records[key], records, rtol=0, atol=0, equal_nan=True, msg=key)


def test_with_early_stopping_the_gif_ends_on_the_model_it_kept():
    arrays = circles()
    arrays |= {"x_valid": arrays["x_test"][:50], "y_valid": arrays["y_test"][:50]}
    torch.manual_seed(0)
    data = to_tensors(arrays, "cross_entropy", torch.device("cpu"))
    model = build_model(MLP, (2,), 2)
    config = TrainConfig(
        epochs=300, optimizer={"name": "sgd"}, lr=2.0, loss="cross_entropy", early_stopping={"patience": 5}
    )
    run = start_run(model, config, seed=0, validating=True)
    recorder = Recorder(model, 300, data, plane=True)
    run.records = recorder.blank(2, torch.device("cpu"))
    fit(
        run,
        data,
        config,
        make_step(run.model, run.optimizer, MLP, config.loss, ONE_PROCESS, len(data.x_train)),
        recorder,
    )
    assert run.stopped and run.stopper.best_epoch < run.epoch
    frames = recorder.frames(run, "cross_entropy")
    assert frames["frame_kept"] and frames["frame_epochs"][-1] == run.stopper.best_epoch
    assert all(epoch <= run.epoch for epoch in frames["frame_epochs"])
    kept = torch.softmax(model(recorder.grid), dim=1).detach().numpy().reshape(frames["frames"][-1].shape)
    assert np.allclose(frames["frames"][-1].astype(np.float32), kept, atol=1e-3)


def test_a_two_class_nets_one_output_is_named_as_the_class_it_scores():
    predictions = {"classes": np.array(["lower", "upper"])}
    assert output_names({"network_1": np.zeros((4, 2)), "network_2": np.zeros((1, 4))}, predictions) == [
        "upper (score)"
    ]
    assert output_names({"network_1": np.zeros((2, 2))}, predictions) == ["lower", "upper"]
    assert output_names({"network_1": np.zeros((3, 2))}, {}) == ["output 1", "output 2", "output 3"]

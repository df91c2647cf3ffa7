import io

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from tinynets.common.errors import TrainingError
from tinynets.inference import as_inputs
from tinynets.models import build_mlp
from tinynets.params import ModelConfig, TrainConfig
from tinynets.training.backprop import ExplicitMlp
from tinynets.training.loop import fit, start_run
from tinynets.training.progress import Monitor
from tinynets.training.steps import autograd_step, explicit_step, threads_for
from tinynets.training.tensors import to_tensors


def iris_tensors():
    x, y = load_iris(return_X_y=True)
    x = ((x - x.min(0)) / (x.max(0) - x.min(0))).astype(np.float32)
    arrays = {"x_train": x[::2], "y_train": y[::2], "x_test": x[1::2], "y_test": y[1::2]}
    return to_tensors(arrays, "cross_entropy", torch.device("cpu"))


def train_iris(epochs=200, lr=0.5, batch_size=None, stream=None, explicit=True):
    torch.manual_seed(0)
    model_config = ModelConfig(layers=[4, 10, 3])
    model = build_mlp(model_config)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer={"name": "sgd"}, lr=lr, loss="cross_entropy")
    run = start_run(model, config, seed=0)
    mlp = ExplicitMlp(model, model_config)
    if explicit:
        step = explicit_step(mlp, run.optimizer, config.loss, batch_size or 75)
    else:
        step = autograd_step(model, mlp.forward, run.optimizer, config.loss)
    fit(run, iris_tensors(), config, step, Monitor("iris", epochs, lr, stream=stream or io.StringIO()))
    return model, run.history


@pytest.mark.parametrize("batch_size", [None, 16])
def test_training_lowers_train_and_test_loss(batch_size):
    _, history = train_iris(batch_size=batch_size)
    assert history.shape == (200, 2)
    assert history[-1, 0] < 0.5 * history[0, 0]
    assert history[-1, 1] < 0.5 * history[0, 1]


def test_same_seed_gives_identical_weights():
    first, _ = train_iris(epochs=50, batch_size=16)
    second, _ = train_iris(epochs=50, batch_size=16)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_explicit_and_autograd_steps_train_the_same_weights(batch_size):
    explicit, explicit_history = train_iris(epochs=30, batch_size=batch_size)
    autograd, autograd_history = train_iris(epochs=30, batch_size=batch_size, explicit=False)
    assert torch.equal(explicit_history, autograd_history)
    for a, b in zip(explicit.state_dict().values(), autograd.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_tiny_mlp_trains_on_one_thread_and_leaves_torchs_setting_as_it_was():
    tiny = ExplicitMlp(build_mlp(ModelConfig(layers=[4, 10, 3])), ModelConfig(layers=[4, 10, 3]))
    mnist_config = ModelConfig(layers=[784, 512, 256, 10])
    mnist = ExplicitMlp(build_mlp(mnist_config), mnist_config)
    assert threads_for(tiny, batch=120) == 1 and threads_for(mnist, batch=256) is None
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # as on a user's two cores (a test worker may have been given one)
    try:
        seen = []
        model_config = ModelConfig(layers=[4, 10, 3])
        config = TrainConfig(epochs=2, optimizer={"name": "sgd"}, lr=0.1, loss="cross_entropy")
        run = start_run(build_mlp(model_config), config, seed=0)
        step = explicit_step(ExplicitMlp(run.model, model_config), run.optimizer, config.loss, batch=75)
        fit(run, iris_tensors(), config, step, lambda run: seen.append(torch.get_num_threads()))
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_divergence_stops_with_the_dataset_epoch_and_lr():
    with pytest.raises(TrainingError, match=r"iris: training diverged at epoch \d+: .* lr 1e\+30"):
        train_iris(epochs=50, lr=1e30)


def test_plain_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    train_iris(epochs=100, stream=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("iris: epoch 100/100 train loss ")


def test_uint8_pixels_become_floats_in_unit_range():
    pixels = torch.tensor([[0, 255, 51]], dtype=torch.uint8)
    assert torch.allclose(as_inputs(pixels), torch.tensor([[0.0, 1.0, 0.2]]))

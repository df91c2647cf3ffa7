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


# rows per batch of each loss: 7 shares 4 and 3; 1: one process holds none
CASES = {"cross_entropy": [7, 1], "bce_with_logits": [5], "mse": [3], "huber": [3]}


def batch(loss: str, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 4, generator=generator)
    if loss == "cross_entropy":
        return x, torch.randint(0, 3, (rows,), generator=generator)
    if loss == "bce_with_logits":
        return x, torch.randint(0, 2, (rows, 1), generator=generator).float()
    return x, 3 * torch.randn(rows, 2, generator=generator)  # errors both sides of huber's delta


def stepped(loss: str, rows: int, ddp=None, rank: int = 0) -> list[torch.Tensor]:
    """A linear layer's weights after one SGD step (lr 1) on the batch: on one process, or (`ddp`: the wrapper
    to put around it) on rank `rank` of two, which holds rows rank, rank + 2, ..."""
    from tinynets.training.steps import distributed_step

    x, y = batch(loss, rows)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3 if loss == "cross_entropy" else y.shape[1])
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    if ddp is None:
        autograd_step(model, model, optimizer, loss).update(x, y, rows)
    else:
        distributed_step(ddp(model), model, optimizer, loss, world=2).update(x[rank::2], y[rank::2], rows)
    return [parameter.detach() for parameter in model.parameters()]


def _two_processes(rank: int, store: str, out: str) -> None:
    from torch.nn.parallel import DistributedDataParallel

    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    weights = {
        (loss, rows): stepped(loss, rows, DistributedDataParallel, rank) for loss in CASES for rows in CASES[loss]
    }
    if rank == 0:
        torch.save(weights, out)
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_processes_take_the_whole_batchs_mean_gradient_whatever_their_shares(tmp_path):
    out = tmp_path / "weights.pt"
    torch.multiprocessing.spawn(_two_processes, (str(tmp_path / "store"), str(out)), nprocs=2)
    for (loss, rows), weights in torch.load(out, weights_only=True).items():
        for ddp, one in zip(weights, stepped(loss, rows), strict=True):
            assert torch.allclose(ddp, one, atol=1e-6), (loss, rows)

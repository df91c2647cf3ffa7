"""The training loops' figures: the seeds' loops, tinynets' own as the train stage runs it, and the GEMM floor."""

from __future__ import annotations

import gzip
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tinynets import registry_mnist
from tinynets.common.errors import DataError
from tinynets.models import build_mlp, build_model
from tinynets.params import ModelConfig, TrainConfig
from tinynets.training.loop import Run, fit, start_run
from tinynets.training.steps import make_step
from tinynets.training.tensors import Shard, Tensors, batch_rows

FASHION = Path("/usr/share/datasets/fashion-mnist")
MNIST_MODEL = ModelConfig(layers=[784, 512, 256, 10], init="normal", init_std=0.01)
MNIST_TRAIN = TrainConfig(epochs=1, batch_size=256, optimizer={"name": "sgd"}, lr=0.2, loss="cross_entropy")
IRIS_STEPS = 2000
CPU = torch.device("cpu")


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a GPU runs asynchronously; the CPU needs nothing)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_medians(
    works: dict[str, Callable[[], None]], repeats: int, device: torch.device = CPU
) -> dict[str, float]:
    """Median seconds of each work, timed in turn within every repeat so that drift in the machine's
    speed touches them all alike."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            synchronize(device)
            started = time.perf_counter()
            work()
            synchronize(device)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def image_set(scratch: Path) -> tuple[str, Path]:
    """A torchvision root holding a 60k x 28 x 28 set as MNIST's IDX files: the real MNIST from the package
    registry (as the pipeline fetches it), else real Fashion-MNIST if installed, else generated."""
    raw = scratch / "MNIST" / "raw"
    raw.mkdir(parents=True)
    try:
        x_train, y_train, x_test, y_test = registry_mnist.load(scratch / "registry")
        label = "MNIST (the package registry's copy)"
    except DataError:
        if FASHION.exists():
            for gz in FASHION.glob("*.gz"):
                with gzip.open(gz) as source, open(raw / gz.name.removesuffix(".gz"), "wb") as target:
                    shutil.copyfileobj(source, target)
            return "Fashion-MNIST (Debian package)", scratch
        rng = np.random.default_rng(0)
        x_train, x_test = rng.integers(0, 256, (60000, 28, 28)), rng.integers(0, 256, (10000, 28, 28))
        y_train, y_test = rng.integers(0, 10, 60000), rng.integers(0, 10, 10000)
        label = "generated 60k x 784"
    for prefix, images, labels in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return label, scratch


def write_idx(path: Path, array: np.ndarray) -> None:
    """An array of bytes as an IDX file (MNIST's format: a magic number, the sizes, the bytes)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def seed_001_epoch(root: Path) -> Callable[[], None]:
    """Seed 001's loop as written: torchvision dataset, per-sample ToTensor, DataLoader of 256."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    train = datasets.MNIST(root=str(root), train=True, transform=transforms.ToTensor(), download=False)
    loader = DataLoader(train, batch_size=256, shuffle=True)
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2)

    def epoch() -> None:
        net.train()
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * x.shape[0]

    return epoch


def train_with_tinynets(
    model_config: ModelConfig, config: TrainConfig, data: Tensors
) -> tuple[Callable[[], None], Run]:
    """`fit` for config.epochs epochs as the train stage calls it in one process, and the run it updates."""
    torch.manual_seed(0)
    run = start_run(build_mlp(model_config).to(data.x_train.device), config, seed=0)
    step = make_step(
        run.model, run.optimizer, model_config, config.loss, Shard(), batch_rows(config.batch_size, len(data.x_train))
    )

    def train() -> None:
        run.epoch = 0
        fit(run, data, config, step, lambda run: None)

    return train, run


def tinynets_epoch(root: Path, test_rows: int, device: torch.device = CPU) -> Callable[[], None]:
    """tinynets' epoch on resident uint8 tensors; the test loss it measures after each epoch on `test_rows` rows."""
    from torchvision import datasets

    train = datasets.MNIST(root=str(root), train=True, download=False)
    test = datasets.MNIST(root=str(root), train=False, download=False)
    splits = (train.data, train.targets, test.data[:test_rows], test.targets[:test_rows])
    return train_with_tinynets(MNIST_MODEL, MNIST_TRAIN, Tensors(*(part.to(device) for part in splits)))[0]


def gemm_floor_epoch(device: torch.device = CPU) -> Callable[[], None]:
    """The forward and backward matrix multiplications of one epoch, and nothing else."""
    sizes = MNIST_MODEL.layers
    weights = [torch.randn(fan_out, fan_in, device=device) for fan_in, fan_out in pairwise(sizes)]
    batches = [256] * (60000 // 256) + [60000 % 256]
    inputs = {b: torch.randn(b, 784, device=device) for b in set(batches)}

    def epoch() -> None:
        for batch in batches:
            activations = [inputs[batch]]
            for weight in weights:  # forward: X W^T
                activations.append(activations[-1] @ weight.t())
            grad = torch.ones_like(activations[-1])
            for index in reversed(range(len(weights))):  # backward: dW = G^T X, and dX = G W except at the input
                _ = grad.t() @ activations[index]
                if index:
                    grad = grad @ weights[index]

    return epoch


GEMM_OPS = ("aten::mm", "aten::addmm")  # the matrix products: the forward's addmm, the backward's two mm


def profile_split(epoch: Callable[[], None]) -> tuple[float, float, list[tuple[str, float]]]:
    """One epoch under torch's profiler: the seconds of GEMM ops' own time, of every other op's, and the
    other ops that take most, largest first."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        epoch()
    own = {event.key: event.self_cpu_time_total / 1e6 for event in profiled.key_averages()}
    others = sorted(((name, seconds) for name, seconds in own.items() if name not in GEMM_OPS), key=lambda x: -x[1])
    return sum(own.get(name, 0.0) for name in GEMM_OPS), sum(seconds for _, seconds in others), others[:6]


def iris_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    return torch.tensor(x[:120], dtype=torch.float32), torch.tensor(y[:120])


def seed_000_steps(steps: int) -> tuple[float, float]:
    """Seed 000's loop as written (loss.item() every step); returns (seconds, final loss)."""
    x, y = iris_tensors()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 3))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    started = time.perf_counter()
    for _ in range(steps):
        loss = criterion(model.forward(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return time.perf_counter() - started, losses[-1]


def tinynets_iris_steps(steps: int, device: torch.device = CPU) -> tuple[float, float]:
    """tinynets' loop on the same data, initial weights and settings (and a 30-row test loss every epoch)."""
    x, y = (part.to(device) for part in iris_tensors())
    config = TrainConfig(epochs=steps, optimizer={"name": "sgd"}, lr=0.01, loss="cross_entropy")
    train, run = train_with_tinynets(ModelConfig(layers=[4, 10, 3]), config, Tensors(x, y, x[:30], y[:30]))
    synchronize(device)
    started = time.perf_counter()
    train()
    synchronize(device)
    return time.perf_counter() - started, float(run.history[-1, 0])


# LSTM forecasters: (label, windows, window steps, hidden units, batch): sunspots' own size, and a larger series
LSTM_SIZES = [("sunspots-sized", 206, 11, 32, 32), ("generated 20k windows", 20000, 50, 64, 128)]


def windows_of(count: int, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` windows of a noisy sine and the step after each: (count, window, 1) inputs, (count, 1) targets."""
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(count + window) * 0.3) + rng.normal(0, 0.1, count + window)
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)[:count, :, np.newaxis]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(series[window:][:count, np.newaxis], dtype=torch.float32)


def plain_lstm_epoch(x: torch.Tensor, y: torch.Tensor, hidden: int, batch: int) -> Callable[[], None]:
    """The same model in a plain PyTorch loop, as a practitioner writes one: nn.LSTM, a DataLoader over the
    windows, torch.optim.Adam."""
    from torch.utils.data import DataLoader, TensorDataset

    class Forecaster(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.head = nn.LSTM(1, hidden, batch_first=True), nn.Linear(hidden, 1)

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.head(self.lstm(inputs)[0][:, -1])

    torch.manual_seed(0)
    model = Forecaster()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), nn.MSELoss()

    def epoch() -> None:
        model.train()
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()

    return epoch


def tinynets_lstm_epoch(x: torch.Tensor, y: torch.Tensor, hidden: int, batch: int) -> Callable[[], None]:
    """tinynets' epoch of `{type: lstm}` then `{type: linear}`, as the train stage runs it (and a 1-row test loss)."""
    model_config = ModelConfig(blocks=[{"type": "lstm", "hidden": hidden}, {"type": "linear", "out": "auto"}])
    config = TrainConfig(epochs=1, batch_size=batch, optimizer={"name": "adam"}, lr=1e-3, loss="mse")
    torch.manual_seed(0)
    run = start_run(build_model(model_config, tuple(x.shape[1:]), 1), config, seed=0)
    step = make_step(run.model, run.optimizer, model_config, config.loss, Shard(), batch)
    data = Tensors(x, y, x[:1], y[:1])

    def epoch() -> None:
        run.epoch = 0
        fit(run, data, config, step, lambda run: None)

    return epoch


def measure(repeats: int) -> list[tuple[str, str]]:
    """The loop figures as (name, value) rows."""
    with tempfile.TemporaryDirectory() as scratch:
        label, root = image_set(Path(scratch))
        epochs = {
            "seed": seed_001_epoch(root),
            "ours": tinynets_epoch(root, test_rows=1),
            "with test": tinynets_epoch(root, test_rows=10000),
            "floor": gemm_floor_epoch(),
        }
        medians = interleaved_medians(epochs, repeats)
        gemm, rest, largest = profile_split(epochs["ours"])
    seed, ours, with_test, floor = (medians[name] for name in epochs)
    lstm = lstm_rows(repeats)
    # The iris loops last, the seed's first: tinynets trains a net this small on one thread, and torch's thread
    # pool, once shrunk and grown again, slows two-thread work after it (the seed's iris loop by a tenth, an
    # LSTM step by a fifth) as it never does in a train stage's process of its own.
    seed_runs = [seed_000_steps(IRIS_STEPS) for _ in range(repeats)]
    our_runs = [tinynets_iris_steps(IRIS_STEPS) for _ in range(repeats)]
    seed_us = statistics.median(s for s, _ in seed_runs) / IRIS_STEPS * 1e6
    our_us = statistics.median(s for s, _ in our_runs) / IRIS_STEPS * 1e6
    return [
        (f"MNIST epoch, seed-001 loop ({label})", f"{seed:.2f} s"),
        ("MNIST epoch, tinynets", f"{ours:.2f} s"),
        ("MNIST epoch, tinynets + its 10k-row test loss", f"{with_test:.2f} s"),
        ("MNIST epoch, GEMM floor", f"{floor:.2f} s"),
        ("speedup over the seed loop", f"{seed / ours:.1f}x"),
        ("tinynets / GEMM floor", f"{ours / floor:.2f}x"),
        (
            "tinynets' epoch under torch's profiler: GEMM / every other op (share of the ops' own time)",
            f"{gemm * 1e3:.0f} ms / {rest * 1e3:.0f} ms ({rest / (gemm + rest):.1%})",
        ),
        ("the other ops that take most", ", ".join(f"{name} {seconds * 1e3:.1f} ms" for name, seconds in largest)),
        ("iris step, seed-000 loop", f"{seed_us:.0f} µs"),
        ("iris step, tinynets (with its test loss)", f"{our_us:.0f} µs"),
        ("tinynets / seed-000 loop", f"{our_us / seed_us:.2f}x"),
        (f"final loss difference after {IRIS_STEPS} steps", f"{abs(seed_runs[0][1] - our_runs[0][1]):.1e}"),
        *lstm,
    ]


def lstm_rows(repeats: int) -> list[tuple[str, str]]:
    """An LSTM forecaster's epoch in tinynets against the plain PyTorch loop, per size."""
    rows = []
    for label, count, window, hidden, batch in LSTM_SIZES:
        x, y = windows_of(count, window)
        works = {"plain": plain_lstm_epoch(x, y, hidden, batch), "ours": tinynets_lstm_epoch(x, y, hidden, batch)}
        works["plain"]()  # torch.optim's first step imports torch._dynamo: not part of an epoch
        medians = interleaved_medians(works, repeats)
        shape = f"{count} windows of {window}, LSTM {hidden}, batch {batch}"
        rows += [
            (f"LSTM epoch, {label} ({shape}): plain PyTorch loop", f"{medians['plain'] * 1e3:.1f} ms"),
            (f"LSTM epoch, {label}: tinynets", f"{medians['ours'] * 1e3:.1f} ms"),
            (f"LSTM epoch, {label}: tinynets / plain loop", f"{medians['ours'] / medians['plain']:.2f}x"),
        ]
    return rows

"""What the train stage records while a net learns, for the figures that show the learning: per layer, the
weight and gradient norms and the share of dead ReLU units at chosen epochs; for a classifier of 2-D inputs,
its outputs over the plane (the frames of training.gif). Then, from the trained net, what it learned: each
hidden unit's output over the plane, a small MLP's weights, the first layer's weights or filters.

The records are tensors kept in the run on its device: a checkpoint keeps them, and the loop never waits on
them. Drawing is the plot stage's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinynets.common.facts import network_figure_skipped
from tinynets.evaluation.decisions import class_probabilities
from tinynets.inference import as_inputs
from tinynets.training.loop import Run
from tinynets.training.outputs import grid_points
from tinynets.training.tensors import Tensors

DYNAMICS_POINTS = 100  # log-spaced epochs and as many evenly spaced ones (every epoch of a shorter run)
FRAMES = 40  # log-spaced epochs asked of training.gif (the first few round to the same epoch)
FRAME_GRID = 64  # frame resolution per axis; the plot smooths it
NEURON_GRID = 100  # per axis, for each hidden unit's output over the plane
DEAD_PROBE_WORK = 1 << 27  # multiply-adds: dead units are counted on as many first train rows as cost this
FIRST_LAYER_UNITS = 64  # first-layer weight tiles drawn (the first units)


def spaced_epochs(epochs: int, count: int) -> list[int]:
    """About `count` epochs from 1 to `epochs`, log-spaced: dense early, where a net changes fastest."""
    return sorted({round(float(epoch)) for epoch in np.geomspace(1, epochs, count)})


def dynamics_epochs(epochs: int) -> list[int]:
    """Every epoch of a short run; else log-spaced epochs (the early change) and evenly spaced ones (the rest)."""
    if epochs <= 2 * DYNAMICS_POINTS:
        return list(range(1, epochs + 1))
    even = np.linspace(1, epochs, DYNAMICS_POINTS).round().astype(int).tolist()
    return sorted(set(spaced_epochs(epochs, DYNAMICS_POINTS)) | set(even))


def layer_names(model: nn.Module) -> dict[nn.Module, str]:
    """Each module that holds parameters of its own, named by kind and position: linear1, conv1, lstm1, ..."""
    names, counts = {}, {}
    for module in model.modules():
        if next(module.parameters(recurse=False), None) is None:
            continue
        kind = re.sub(r"[123]d$", "", type(module).__name__.lower())
        counts[kind] = counts.get(kind, 0) + 1
        names[module] = f"{kind}{counts[kind]}"
    return names


@dataclass(frozen=True)
class Hidden:
    """A hidden layer of vectors: the layer that computes it, the Linear layer that reads it, whether a ReLU
    lies between (so a unit can be dead)."""

    layer: str
    reader: nn.Linear
    relu: bool


def hidden_layers(model: nn.Module, names: dict[nn.Module, str]) -> list[Hidden]:
    """The hidden layers of a Sequential net whose Linear layers follow one another (an MLP's, say)."""
    found: list[Hidden] = []
    last, relu = None, False
    for module in model.children() if isinstance(model, nn.Sequential) else ():
        if isinstance(module, nn.Linear):
            if isinstance(last, nn.Linear):
                found.append(Hidden(names[last], module, relu))
            last, relu = module, False
        elif module in names:
            last, relu = module, False
        elif isinstance(module, nn.ReLU):
            relu = True
        elif not isinstance(module, nn.Dropout):  # another activation: its output is no ReLU's
            relu = False
    return found


@contextmanager
def evaluated(model: nn.Module) -> Iterator[None]:
    """Eval mode without autograd for the block, then the mode the model was in."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(training)


def hidden_outputs(model: nn.Module, readers: list[nn.Linear], x: torch.Tensor) -> list[torch.Tensor]:
    """What each of `readers` receives (a hidden layer's output) for inputs `x`, in eval mode."""
    seen: list[torch.Tensor] = []
    hooks = [reader.register_forward_pre_hook(lambda _, args: seen.append(args[0])) for reader in readers]
    try:
        with evaluated(model):
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The 2-norm of tensors taken together, as one vector."""
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(tensor) for tensor in tensors]))


class Recorder:
    """Called after each epoch: at the chosen epochs it writes the norms, dead shares and frames into run.records."""

    def __init__(self, model: nn.Module, epochs: int, data: Tensors, frames: bool) -> None:
        self.model, names = model, layer_names(model)
        self.layers = [(module, name) for module, name in names.items()]
        rows = {name: index for index, (_, name) in enumerate(self.layers)}
        relus = [layer for layer in hidden_layers(model, names) if layer.relu]
        self.readers, self.dead_rows = [layer.reader for layer in relus], [rows[layer.layer] for layer in relus]
        self.epochs = dynamics_epochs(epochs)
        self.row = {epoch: index for index, epoch in enumerate(self.epochs)}
        work = max(1, sum(parameter.numel() for parameter in model.parameters()))
        self.probe = as_inputs(data.x_train[: max(1, DEAD_PROBE_WORK // work)])
        self.frame_epochs = spaced_epochs(epochs, FRAMES) if frames else []
        self.frame = {epoch: index for index, epoch in enumerate(self.frame_epochs)}
        if frames:
            self.points = data.x_train, data.y_train
            self.axes, self.grid = grid_points(torch.cat([data.x_train, data.x_test]), FRAME_GRID)

    def blank(self, outputs: int, device: torch.device) -> dict[str, torch.Tensor]:
        """The records before training: NaN wherever an epoch has not been recorded yet."""
        records = {"dynamics": torch.full((len(self.epochs), len(self.layers), 3), float("nan"), device=device)}
        if self.frame_epochs:
            shape = (len(self.frame_epochs), len(self.grid), outputs)
            records["frames"] = torch.full(shape, float("nan"), device=device)
        return records

    def __call__(self, run: Run) -> None:
        row, frame = self.row.get(run.epoch), self.frame.get(run.epoch)
        if row is not None:
            self._dynamics(run.records["dynamics"][row])
        if frame is not None:
            with evaluated(self.model):
                run.records["frames"][frame] = self.model(self.grid)

    def _dynamics(self, out: torch.Tensor) -> None:
        for index, (module, _) in enumerate(self.layers):
            weights = [parameter for name, parameter in module.named_parameters(recurse=False) if "weight" in name]
            weights = weights or list(module.parameters(recurse=False))
            grads = [weight.grad for weight in weights if weight.grad is not None]
            out[index, 0] = _norm(weights)
            out[index, 1] = _norm(grads) if grads else 0.0
        if self.readers:
            for row, units in zip(self.dead_rows, hidden_outputs(self.model, self.readers, self.probe), strict=True):
                out[row, 2] = (units.amax(dim=0) <= 0).float().mean()

    def dynamics_table(self, run: Run) -> dict[str, list]:
        """The recorded epochs' rows, one per epoch and layer: epoch, layer, weight_norm, grad_norm, dead."""
        values = run.records["dynamics"].cpu().tolist()
        table: dict[str, list] = {"epoch": [], "layer": [], "weight_norm": [], "grad_norm": [], "dead": []}
        for epoch, per_layer in zip(self.epochs, values, strict=True):
            if epoch > run.epoch:  # stopped early
                break
            for (_, name), figures in zip(self.layers, per_layer, strict=True):
                for key, value in zip(table, (epoch, name, *figures), strict=True):
                    table[key].append(value)
        return table

    def frames(self, run: Run, loss: str) -> dict[str, np.ndarray]:
        """training.gif's data (none for other nets): the recorded epochs, each one's class probabilities over the grid,
        the grid's axes, the train points."""
        if not self.frame_epochs:
            return {}
        done = [epoch for epoch in self.frame_epochs if epoch <= run.epoch]
        outputs = run.records["frames"][: len(done)].cpu().numpy()
        probabilities = np.stack([class_probabilities(frame, loss) for frame in outputs]) if done else outputs
        side = len(self.axes[0])
        return {
            "frame_epochs": np.array(done, dtype=np.int64),
            "frames": probabilities.reshape(len(done), side, side, -1).astype(np.float16),
            "frame_x": self.axes[0].numpy(),
            "frame_y": self.axes[1].numpy(),
            "train_points": self.points[0].cpu().numpy(),
            "train_labels": self.points[1].cpu().numpy().reshape(len(self.points[1]), -1)[:, 0].astype(np.int64),
        }


def learned(model: nn.Module, data: Tensors, layers: list[int] | None) -> dict[str, np.ndarray]:
    """What the trained net learned, as its data allows: each hidden unit's output over the plane (2-D inputs),
    every weight (an MLP small enough to draw), the first layer's weights or filters (inputs of rank 2)."""
    arrays: dict[str, np.ndarray] = {}
    names = layer_names(model)
    hidden = hidden_layers(model, names)
    if data.x_train.ndim == 2 and data.x_train.shape[1] == 2 and hidden:
        (axis_x, axis_y), grid = grid_points(torch.cat([data.x_train, data.x_test]), NEURON_GRID)
        arrays |= {"neuron_x": axis_x.numpy(), "neuron_y": axis_y.numpy()}
        arrays["neuron_layers"] = np.array([layer.layer for layer in hidden])
        outputs = hidden_outputs(model, [layer.reader for layer in hidden], grid)
        for index, units in enumerate(outputs, 1):
            arrays[f"neurons_{index}"] = units.T.reshape(-1, NEURON_GRID, NEURON_GRID).cpu().numpy()
    if network_figure_skipped(layers) is None:
        linears = [module for module in names if isinstance(module, nn.Linear)]
        arrays |= {f"network_{index}": linear.weight.detach().cpu().numpy() for index, linear in enumerate(linears, 1)}
    first = next(iter(names), None)
    if data.x_test.ndim == 3 and isinstance(first, nn.Linear | nn.Conv2d):
        image = as_inputs(data.x_test[:1])
        if isinstance(first, nn.Linear):
            tiles = first.weight.detach()[:FIRST_LAYER_UNITS]
            arrays["first_layer"] = tiles.reshape(-1, *image.shape[1:]).cpu().numpy()
        else:
            maps: list[torch.Tensor] = []
            hook = first.register_forward_hook(lambda _, args, out: maps.append(out))
            try:
                with evaluated(model):
                    model(image)
            finally:
                hook.remove()
            arrays["filters"] = first.weight.detach()[:, 0].cpu().numpy()
            arrays["feature_maps"] = maps[0][0].cpu().numpy()
            arrays["feature_image"] = image[0].cpu().numpy()
    return arrays

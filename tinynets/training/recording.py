"""What the train stage records while a net learns, for the figures that show the learning: per layer, the
weight and gradient norms and the share of dead ReLU units at chosen epochs; for a classifier of 2-D inputs,
its outputs over the plane (the frames of training.gif). Then, from the trained net, what it learned: each
hidden unit's output over the plane, a small MLP's weights, the first layer's weights or filters.

The records are tensors kept in the run on its device: a checkpoint keeps them, and the loop never waits on
them. Drawing is the plot stage's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinynets.common.facts import is_plane, network_figure_skipped
from tinynets.evaluation.decisions import as_labels, class_probabilities
from tinynets.inference import as_inputs, eval_mode, mode_dependent
from tinynets.training.loop import Run
from tinynets.training.tensors import Tensors

DYNAMICS_POINTS = 100  # log-spaced epochs and as many evenly spaced ones (every epoch of a shorter run)
FRAMES = 40  # log-spaced epochs asked of training.gif (the first few round to the same epoch)
PLANE_GRID = 64  # per axis: the frames' and the hidden units' resolution over the plane (the plot smooths it)
# Dead units are counted on the first train rows: all of them up to DEAD_PROBE_WORK rows x weights (every default
# set but MNIST and sum30), else as many as make it, and never fewer than DEAD_PROBE_ROWS: a few percent of an epoch.
DEAD_PROBE_WORK, DEAD_PROBE_ROWS = 1 << 22, 256
FIRST_LAYER_UNITS = 64  # first-layer weight tiles drawn (the first units)
NEURON_UNITS = 32  # each hidden layer's units drawn over the plane (the first ones)
GRID_MARGIN = 0.1  # fraction of each axis' range added on both sides of the data, for a grid over the plane


def grid_points(x: torch.Tensor, steps: int) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The axes of a `steps` x `steps` grid spanning 2-D inputs (with a margin), and its points, row by row."""
    low, high = x.min(dim=0).values.cpu(), x.max(dim=0).values.cpu()
    pad = (high - low) * GRID_MARGIN
    axes = [torch.linspace(float(lo - p), float(hi + p), steps) for lo, hi, p in zip(low, high, pad, strict=True)]
    grid_x, grid_y = torch.meshgrid(*axes, indexing="xy")
    return (axes[0], axes[1]), torch.stack([grid_x.ravel(), grid_y.ravel()], dim=1).to(x.device)


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


def hidden_outputs(model: nn.Sequential, readers: list[nn.Linear], x: torch.Tensor) -> list[torch.Tensor]:
    """What each of `readers` receives (a hidden layer's output) for inputs `x`; the caller sets the mode."""
    seen, wanted = [], set(readers)
    for module in model:
        if module in wanted:
            seen.append(x)
            if len(seen) == len(readers):
                break
        x = module(x)
    return seen


class Recorder:
    """Called after each epoch: at the chosen epochs it writes the norms, dead shares and frames into run.records."""

    def __init__(self, model: nn.Module, epochs: int, data: Tensors, plane: bool) -> None:
        self.model, names = model, layer_names(model)
        self.layers = list(names.items())
        self.switch = mode_dependent(model)
        weights = [
            [parameter for name, parameter in module.named_parameters(recurse=False) if "weight" in name]
            or list(module.parameters(recurse=False))
            for module, _ in self.layers
        ]
        self.weights = [weight for layer in weights for weight in layer]
        device = next(model.parameters()).device
        self.owner = torch.tensor([index for index, layer in enumerate(weights) for _ in layer], device=device)
        rows = {name: index for index, (_, name) in enumerate(self.layers)}
        relus = [layer for layer in hidden_layers(model, names) if layer.relu]
        self.readers, self.dead_rows = [layer.reader for layer in relus], [rows[layer.layer] for layer in relus]
        self.epochs = dynamics_epochs(epochs)
        self.row = {epoch: index for index, epoch in enumerate(self.epochs)}
        weights_per_row = max(1, sum(parameter.numel() for parameter in model.parameters()))
        self.probe = as_inputs(data.x_train[: max(DEAD_PROBE_ROWS, DEAD_PROBE_WORK // weights_per_row)])
        self.frame_epochs = spaced_epochs(epochs, FRAMES) if plane else []
        self.frame = {epoch: index for index, epoch in enumerate(self.frame_epochs)}
        if plane:
            self.points = data.x_train, data.y_train
            self.axes, self.grid = grid_points(torch.cat([data.x_train, data.x_test]), PLANE_GRID)

    def blank(self, outputs: int, device: torch.device) -> dict[str, torch.Tensor]:
        """The records before training: NaN wherever an epoch has not been recorded yet."""
        records = {"dynamics": torch.full((len(self.epochs), len(self.layers), 3), float("nan"), device=device)}
        if self.frame_epochs:
            shape = (len(self.frame_epochs), len(self.grid), outputs)
            records["frames"] = torch.full(shape, float("nan"), device=device)
        return records

    def __call__(self, run: Run) -> None:
        row, frame = self.row.get(run.epoch), self.frame.get(run.epoch)
        if row is None and frame is None:  # most epochs of a long run: nothing to do, not even a context
            return
        with torch.no_grad():
            if row is not None:
                self._dynamics(run.records["dynamics"][row])
            if frame is not None:
                with eval_mode(self.model, self.switch):
                    run.records["frames"][frame] = self.model(self.grid)

    def _dynamics(self, out: torch.Tensor) -> None:
        grads = [weight.grad if weight.grad is not None else torch.zeros_like(weight) for weight in self.weights]
        # torch's own per-tensor norms in one call, as clip_grad_norm_ takes them: a tenth of a loop's overhead
        norms = torch.stack([torch.stack(torch._foreach_norm(tensors)) for tensors in (self.weights, grads)], dim=1)
        per_layer = torch.zeros(len(self.layers), 2, device=norms.device).index_add_(0, self.owner, norms.square())
        out[:, :2] = per_layer.sqrt()
        if self.readers:
            with eval_mode(self.model, self.switch):
                units = hidden_outputs(self.model, self.readers, self.probe)
            for row, hidden in zip(self.dead_rows, units, strict=True):
                out[row, 2] = (hidden.amax(dim=0) <= 0).float().mean()

    def dynamics_table(self, run: Run) -> dict[str, list]:
        """The recorded epochs' rows, one per epoch and layer: epoch, layer, weight_norm, grad_norm, dead."""
        values = run.records["dynamics"].cpu().tolist()
        table: dict[str, list] = {"epoch": [], "layer": [], "weight_norm": [], "grad_norm": [], "dead": []}
        for epoch, per_layer in zip(self.epochs, values, strict=True):
            if epoch > run.epoch:  # stopped early
                break
            for (_, name), values in zip(self.layers, per_layer, strict=True):
                for key, value in zip(table, (epoch, name, *values), strict=True):
                    table[key].append(value)
        return table

    @torch.no_grad()
    def frames(self, run: Run, loss: str) -> dict[str, np.ndarray]:
        """training.gif's data (none for other nets): the recorded epochs, each one's class probabilities over the
        grid (with early stopping, a last frame of the model it kept), the grid's axes, the train points; and the
        rows the dead units were counted on."""
        probe = {"dead_probe_rows": np.array(len(self.probe))}
        if not self.frame_epochs:
            return probe
        done = [epoch for epoch in self.frame_epochs if epoch <= run.epoch]
        outputs = run.records["frames"][: len(done)]
        if run.stopper:  # the weights the model kept, restored after the last recorded frame
            with eval_mode(self.model, self.switch):
                outputs = torch.cat([outputs, self.model(self.grid)[None]])
            done.append(run.stopper.best_epoch)
        probabilities = np.stack([class_probabilities(frame, loss) for frame in outputs.cpu().numpy()])
        side = len(self.axes[0])
        return probe | {
            "frame_epochs": np.array(done, dtype=np.int64),
            "frame_kept": np.array(bool(run.stopper)),
            "frames": probabilities.reshape(len(done), side, side, -1).astype(np.float16),
            "frame_x": self.axes[0].numpy(),
            "frame_y": self.axes[1].numpy(),
            "train_points": self.points[0].cpu().numpy(),
            "train_labels": as_labels(self.points[1].cpu().numpy()),
        }


def learned(model: nn.Module, data: Tensors, layers: list[int] | None, images: bool) -> dict[str, np.ndarray]:
    """What the trained net learned, as its data allows: each hidden unit's output over the plane (2-D inputs),
    every weight (an MLP small enough to draw), the first layer's weights or filters (`images`)."""
    arrays: dict[str, np.ndarray] = {}
    names = layer_names(model)
    hidden = hidden_layers(model, names)
    if is_plane(data.x_train) and hidden:
        (axis_x, axis_y), grid = grid_points(torch.cat([data.x_train, data.x_test]), PLANE_GRID)
        arrays |= {"neuron_x": axis_x.numpy(), "neuron_y": axis_y.numpy()}
        arrays["neuron_layers"] = np.array([layer.layer for layer in hidden])
        with eval_mode(model):
            outputs = hidden_outputs(model, [layer.reader for layer in hidden], grid)
        for index, units in enumerate(outputs, 1):
            shown = units[:, :NEURON_UNITS].T.reshape(-1, PLANE_GRID, PLANE_GRID)
            arrays[f"neurons_{index}"] = shown.cpu().numpy()
    if network_figure_skipped(layers) is None:
        linears = [module for module in names if isinstance(module, nn.Linear)]
        arrays |= {f"network_{index}": linear.weight.detach().cpu().numpy() for index, linear in enumerate(linears, 1)}
    first = next(iter(names), None)
    if images and isinstance(first, nn.Linear | nn.Conv2d):
        image = as_inputs(data.x_test[:1])
        if isinstance(first, nn.Linear):
            tiles = first.weight.detach()[:FIRST_LAYER_UNITS]
            arrays["first_layer"] = tiles.reshape(-1, *image.shape[1:]).cpu().numpy()
        else:
            maps = image
            with eval_mode(model):
                for module in model:  # up to the first conv layer's output
                    maps = module(maps)
                    if module is first:
                        break
            arrays["filters"] = first.weight.detach()[:, 0].cpu().numpy()
            arrays["feature_maps"] = maps[0].cpu().numpy()
            arrays["feature_image"] = image[0].cpu().numpy()
    return arrays

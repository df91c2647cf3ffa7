"""An MLP's forward and backward pass written out with the very kernels autograd would call.

For the seeds' tiny networks the autograd engine's bookkeeping costs more than the arithmetic: on a 4-10-3
net its backward call alone takes about 190 µs, the whole explicit step under 120 µs. Calling the same
aten kernels in the same order gives gradients bit-identical to `loss.backward()` (tests/test_backprop.py
checks every activation and loss), so one process trains through here; DDP, which hooks into autograd,
uses `loss.backward()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from tinynets.common.losses import HUBER_DELTA

if TYPE_CHECKING:
    from tinynets.params import ModelConfig


aten = torch.ops.aten
MEAN = 1  # aten's enum value for reduction="mean"
IGNORE_NONE = -100  # nll_loss's default ignore_index

Activation = Callable[[torch.Tensor], torch.Tensor]
# (grad of the output, pre-activation z, activation output a) -> grad of z
ActivationGrad = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

ACTIVATION_KERNELS: dict[str, tuple[Activation, ActivationGrad]] = {
    "relu": (torch.relu, lambda grad, z, a: aten.threshold_backward(grad, a, 0)),
    "tanh": (torch.tanh, lambda grad, z, a: aten.tanh_backward(grad, a)),
    "sigmoid": (torch.sigmoid, lambda grad, z, a: aten.sigmoid_backward(grad, a)),
    "leaky_relu": (F.leaky_relu, lambda grad, z, a: aten.leaky_relu_backward(grad, z, 0.01, False)),
    "gelu": (F.gelu, lambda grad, z, a: aten.gelu_backward(grad, z)),
    "elu": (F.elu, lambda grad, z, a: aten.elu_backward(grad, 1.0, 1, 1, False, z)),
}


# the mean loss (0-d) and its gradient with respect to the output, from (output, target, one = d loss / d loss)
LossKernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _cross_entropy(output: torch.Tensor, target: torch.Tensor, one: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    log_probs = torch.log_softmax(output, 1)
    value, total_weight = aten.nll_loss_forward(log_probs, target, None, MEAN, IGNORE_NONE)
    grad = aten.nll_loss_backward(one, log_probs, target, None, MEAN, IGNORE_NONE, total_weight)
    return value, aten._log_softmax_backward_data(grad, log_probs, 1, output.dtype)


def _bce_with_logits(
    output: torch.Tensor, target: torch.Tensor, one: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    grad = (output.sigmoid() - target) * one
    return F.binary_cross_entropy_with_logits(output, target), grad.div_(output.numel())


LOSS_KERNELS: dict[str, LossKernel] = {  # one per entry of tinynets.common.losses.LOSSES
    "cross_entropy": _cross_entropy,
    "bce_with_logits": _bce_with_logits,
    "mse": lambda output, target, one: (
        F.mse_loss(output, target),
        aten.mse_loss_backward(one, output, target, MEAN),
    ),
    "huber": lambda output, target, one: (
        F.huber_loss(output, target, delta=HUBER_DELTA),
        aten.huber_loss_backward(one, output, target, MEAN, HUBER_DELTA),
    ),
}


class ExplicitMlp:
    """A view of a `build_mlp` model that runs its forward and backward pass without autograd.

    It holds detached aliases of the model's parameters, so optimizer updates show through, and writes
    each gradient into the parameter's `.grad`, where any torch.optim optimizer reads it.
    """

    def __init__(self, model: nn.Sequential, config: ModelConfig) -> None:
        self.linears = [module for module in model if isinstance(module, nn.Linear)]
        names = [config.activation] * (len(self.linears) - 1) + [config.output_activation]
        self.activations = [None if name == "identity" else ACTIVATION_KERNELS[name] for name in names]
        self.weights = [(linear.weight.detach(), linear.bias.detach()) for linear in self.linears]
        self.transposed = [weight.t() for weight, _ in self.weights]  # views: they see every update
        self.one = torch.ones((), dtype=self.weights[0][0].dtype, device=self.weights[0][0].device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output for a batch of (already float) inputs."""
        out = x.flatten(1)
        for (_, bias), transposed, activation in zip(self.weights, self.transposed, self.activations, strict=True):
            out = torch.addmm(bias, out, transposed)
            if activation is not None:
                out = activation[0](out)
        return out

    def loss_backward(self, x: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
        """Forward, loss and backward in one pass; sets every parameter's .grad and returns the loss.

        The gradients overwrite (never add to) the .grad tensors of the previous call.
        """
        inputs, pre_activations = [], []
        out = x.flatten(1)
        for (_, bias), transposed, activation in zip(self.weights, self.transposed, self.activations, strict=True):
            inputs.append(out)
            out = torch.addmm(bias, out, transposed)
            pre_activations.append(out)
            if activation is not None:
                out = activation[0](out)
        value, grad = LOSS_KERNELS[loss](out, target, self.one)
        for index in reversed(range(len(self.weights))):
            activation, z = self.activations[index], pre_activations[index]
            if activation is not None:
                grad = activation[1](grad, z, out)
            linear = self.linears[index]
            if linear.weight.grad is None:
                linear.weight.grad, linear.bias.grad = grad.t().mm(inputs[index]), grad.sum(0)
            else:  # into last step's buffers: no fresh megabytes to fault in every step
                torch.mm(grad.t(), inputs[index], out=linear.weight.grad)
                torch.sum(grad, 0, out=linear.bias.grad)
            if index:
                grad = grad.mm(self.weights[index][0])
                out = inputs[index]
        return value

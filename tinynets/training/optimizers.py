"""SGD, Adam and RMSprop with torch.optim's update rules, operation for operation, minus its start-up cost.

The first `step()` of any torch.optim optimizer imports torch._dynamo, which takes 1.7 s here (sympy and
the compiler stack, none of it used), and every step then spends about 40 µs in Python wrappers: more
than a whole iris step computes. These classes apply the same in-place kernels in the same order as
torch.optim's single-tensor code, the path it takes on the CPU, so the weights after any number of steps
are identical (tests/test_optimizers.py compares every option with torch.optim itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from tinynets.common.settings import plain

if TYPE_CHECKING:
    from tinynets.params import OptimizerConfig


DENOMINATOR_EPS = 1e-8  # torch.optim's default for Adam and RMSprop: added to a denominator


class Optimizer:
    """Updates parameters in place from their .grad; its state is plain tensors, for checkpoints."""

    def __init__(self, parameters: list[nn.Parameter], lr: float) -> None:
        self.parameters = parameters
        self.values = [parameter.detach() for parameter in parameters]  # in-place updates outside autograd
        self.lr = lr
        self.steps = 0
        self.state: dict[str, list[torch.Tensor]] = {}

    def zero_grad(self) -> None:
        """Forget the gradients (autograd then writes fresh ones instead of adding to them)."""
        for parameter in self.parameters:
            parameter.grad = None

    def step(self) -> None:
        """Apply one update from the parameters' current gradients."""
        self.steps += 1
        self.update([parameter.grad for parameter in self.parameters])

    def update(self, grads: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The step count and per-parameter state tensors."""
        return {"steps": self.steps, "state": self.state}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore what state_dict() returned, onto the parameters' device."""
        self.steps = saved["steps"]
        self.state = {
            name: [tensor.to(value.device) for tensor, value in zip(tensors, self.values, strict=True)]
            for name, tensors in saved["state"].items()
        }

    def zeros(self, name: str) -> list[torch.Tensor]:
        """The state `name`, created as zeros like each parameter on first use."""
        if name not in self.state:
            self.state[name] = [torch.zeros_like(value) for value in self.values]
        return self.state[name]


class Sgd(Optimizer):
    def __init__(self, parameters, lr: float, momentum: float, weight_decay: float, nesterov: bool) -> None:
        super().__init__(parameters, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov

    def update(self, grads: list[torch.Tensor]) -> None:
        if self.weight_decay:
            grads = [grad.add(value, alpha=self.weight_decay) for grad, value in zip(grads, self.values, strict=True)]
        if self.momentum:
            if "momentum_buffer" not in self.state:  # the first buffer is the gradient itself
                self.state["momentum_buffer"] = [grad.detach().clone() for grad in grads]
            else:
                for buffer, grad in zip(self.state["momentum_buffer"], grads, strict=True):
                    buffer.mul_(self.momentum).add_(grad, alpha=1)
            buffers = self.state["momentum_buffer"]
            if self.nesterov:
                grads = [grad.add(buffer, alpha=self.momentum) for grad, buffer in zip(grads, buffers, strict=True)]
            else:
                grads = buffers
        for value, grad in zip(self.values, grads, strict=True):
            value.add_(grad, alpha=-self.lr)


class Adam(Optimizer):
    def __init__(self, parameters, lr: float, betas: tuple[float, float], weight_decay: float) -> None:
        super().__init__(parameters, lr)
        (self.beta1, self.beta2), self.weight_decay = betas, weight_decay

    def update(self, grads: list[torch.Tensor]) -> None:
        step = float(self.steps)  # torch.optim keeps the count in a float32 tensor and reads it back
        step_size = self.lr / (1 - self.beta1**step)
        correction2_sqrt = (1 - self.beta2**step) ** 0.5
        state = zip(self.values, grads, self.zeros("exp_avg"), self.zeros("exp_avg_sq"), strict=True)
        for value, grad, exp_avg, exp_avg_sq in state:
            if self.weight_decay:
                grad = grad.add(value, alpha=self.weight_decay)
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            denominator = (exp_avg_sq.sqrt() / correction2_sqrt).add_(DENOMINATOR_EPS)
            value.addcdiv_(exp_avg, denominator, value=-step_size)


class Rmsprop(Optimizer):
    def __init__(self, parameters, lr: float, alpha: float, momentum: float, weight_decay: float) -> None:
        super().__init__(parameters, lr)
        self.alpha, self.momentum, self.weight_decay = alpha, momentum, weight_decay

    def update(self, grads: list[torch.Tensor]) -> None:
        for index, (value, grad, square_avg) in enumerate(
            zip(self.values, grads, self.zeros("square_avg"), strict=True)
        ):
            if self.weight_decay:
                grad = grad.add(value, alpha=self.weight_decay)
            square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            average = square_avg.sqrt().add_(DENOMINATOR_EPS)
            if self.momentum > 0:
                buffer = self.zeros("momentum_buffer")[index]
                buffer.mul_(self.momentum).addcdiv_(grad, average)
                value.add_(buffer, alpha=-self.lr)
            else:
                value.addcdiv_(grad, average, value=-self.lr)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": Sgd, "adam": Adam, "rmsprop": Rmsprop}


def make_optimizer(parameters: list[nn.Parameter], config: OptimizerConfig, lr: float) -> Optimizer:
    """The declared optimizer with its options and learning rate."""
    options = {key: value for key, value in plain(config).items() if key != "name"}
    return OPTIMIZERS[config.name](parameters, lr=lr, **options)

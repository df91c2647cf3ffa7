"""Multilayer perceptrons built from their declaration in params.yaml: plain nn.Modules, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn

from tinynets.params import ModelConfig

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}


def _init_weight(weight: torch.Tensor, init: str, std: float) -> None:
    if init == "normal":
        nn.init.normal_(weight, std=std)
    elif init == "uniform":
        nn.init.uniform_(weight, -std, std)
    elif init != "default":
        getattr(nn.init, f"{init}_")(weight)


def build_mlp(config: ModelConfig) -> nn.Sequential:
    """Flatten, then Linear layers of the declared sizes with the hidden and output activations.

    A non-default init sets the weights only; biases keep PyTorch's default (as seed 001 does).
    """
    modules: list[nn.Module] = [nn.Flatten()]
    sizes = list(pairwise(config.layers))
    for index, (fan_in, fan_out) in enumerate(sizes):
        linear = nn.Linear(fan_in, fan_out)
        _init_weight(linear.weight, config.init, config.init_std)
        is_last = index == len(sizes) - 1
        activation = config.output_activation if is_last else config.activation
        modules.append(linear)
        if activation != "identity":
            modules.append(ACTIVATIONS[activation]())
    return nn.Sequential(*modules)

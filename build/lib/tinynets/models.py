"""Networks built from their declaration in params.yaml: plain nn.Modules, nothing else.

`layers` builds the seeds' multilayer perceptrons (which the train stage runs through its explicit
backward); `blocks` builds anything else from the kinds in tinynets.blocks, each block's input size worked out
from the data by tinynets.shapes.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from tinynets.blocks import activation_module, kind_of
from tinynets.common.errors import DataError
from tinynets.common.settings import Settings
from tinynets.shapes import trace

if TYPE_CHECKING:
    from tinynets.params import ModelConfig


class AddChannel(nn.Module):
    """(batch, height, width) images become (batch, 1, height, width) for the first convolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1)


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
            modules.append(activation_module(activation))
    return nn.Sequential(*modules)


def build_blocks(config: ModelConfig, input_shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """The declared blocks in order, each sized from its input; images get a channel axis first."""
    layers = trace("model", config, input_shape, outputs)
    modules: list[nn.Module] = []
    if layers and len(layers[0].shape_in) == len(input_shape) + 1:
        modules.append(AddChannel())
    for layer in layers:
        module = kind_of(layer.block.type).module(layer.block, layer.shape_in, layer.shape_out)
        if isinstance(module, nn.Linear | nn.Conv2d):
            _init_weight(module.weight, config.init, config.init_std)
        modules.append(module)
    model = nn.Sequential(*modules)
    # channels-last convolutions: a fifth faster per LeNet epoch on this 2-core CPU (bench/RESULTS.md)
    return (
        model.to(memory_format=torch.channels_last) if any(layer.block.type == "conv2d" for layer in layers) else model
    )


def build_model(config: ModelConfig, input_shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """The network a resolved declaration describes (`layers` sizes are numbers by now)."""
    if config.layers is not None:
        return build_mlp(config)
    return build_blocks(config, input_shape, outputs)


def trained_model(saved: dict[str, Any]) -> nn.Sequential:
    """The network a model file describes (modelfile.load_model's result), with its weights, in eval mode."""
    try:
        model = build_model(Settings(saved["model"]), tuple(saved["input_shape"]), saved["outputs"])
        model.load_state_dict(saved["state_dict"])
    except (AttributeError, KeyError, RuntimeError) as error:  # a file another tinynets wrote
        reason = " ".join(str(error).split())[:200]
        raise DataError(
            f"dataset {saved.get('dataset')!r}: its model file does not fit this tinynets ({reason}); train it again"
        ) from None
    return model.eval()


def parameter_count(model: nn.Module) -> int:
    """How many numbers training adjusts."""
    return sum(parameter.numel() for parameter in model.parameters())

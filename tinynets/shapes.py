"""A declared network's shapes, worked out from the data's shape without torch (validate runs before train).

Every size the user may leave out follows from here: the first and last of `layers: [auto, 16, auto]`,
and each block's input size. A block that cannot take its input is named with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinynets.common.errors import ConfigError
from tinynets.common.facts import DataFacts, outputs_needed
from tinynets.common.settings import Settings, plain

if TYPE_CHECKING:
    from tinynets.params import Conv2d, Dropout, Linear, ModelConfig, Plain, Pool2d

SPATIAL = ("conv2d", "maxpool2d", "avgpool2d", "batchnorm2d")


@dataclass(frozen=True)
class Layer:
    """One block as built: its declaration, and the shape of a sample going in and coming out."""

    block: Linear | Conv2d | Pool2d | Dropout | Plain
    shape_in: tuple[int, ...]
    shape_out: tuple[int, ...]


def _where(name: str, index: int, block) -> str:
    return f"params.yaml: datasets.{name}.model.blocks.{index} ({block.type})"


def _shown(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _spatial(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def trace(name: str, model: ModelConfig, input_shape: tuple[int, ...], outputs: int) -> list[Layer]:
    """Each block with its input and output shape (per sample), for data of `input_shape` and `outputs`.

    Images of shape (H, W) get a channel axis, (1, H, W), when the first block that needs one is spatial.
    """
    blocks = model.blocks or []
    first_spatial = next((block.type in SPATIAL for block in blocks if block.type in (*SPATIAL, "linear")), False)
    shape = (1, *input_shape) if first_spatial and len(input_shape) == 2 else tuple(input_shape)
    layers = []
    for index, block in enumerate(blocks):
        where, kind = _where(name, index, block), block.type
        if kind == "linear" or kind == "batchnorm1d":
            if len(shape) != 1:
                raise ConfigError(f"{where}: its input is {_shown(shape)}; put a flatten block before it")
            out = shape if kind == "batchnorm1d" else (outputs if block.out == "auto" else block.out,)
        elif kind in SPATIAL:
            if len(shape) != 3:
                raise ConfigError(f"{where}: needs channels x height x width, but its input is {_shown(shape)}")
            if kind == "batchnorm2d":
                out = shape
            else:
                kernel = block.kernel_size
                stride = getattr(block, "stride", None) or kernel
                padding = getattr(block, "padding", 0)
                height, width = (_spatial(size, kernel, stride, padding) for size in shape[1:])
                if height < 1 or width < 1:
                    raise ConfigError(f"{where}: its {_shown(shape[1:])} input is smaller than kernel_size {kernel}")
                channels = block.out_channels if kind == "conv2d" else shape[0]
                out = (channels, height, width)
        elif kind == "flatten":
            size = 1
            for dimension in shape:
                size *= dimension
            out = (size,)
        else:  # dropout and activations keep the shape
            out = shape
        layers.append(Layer(block, shape, out))
        shape = out
    if shape != (outputs,):
        raise ConfigError(
            f"params.yaml: datasets.{name}.model.blocks: the network gives {_shown(shape)} outputs per sample, "
            f"but the data needs {outputs}"
        )
    return layers


def resolved_model(name: str, model: ModelConfig | Settings, loss: str, facts: DataFacts) -> Settings:
    """The model with every size it leaves out taken from the data; ConfigError where a size does not fit."""
    outputs = outputs_needed(name, loss, facts)
    if model.blocks is not None:
        trace(name, model, facts.input_shape, outputs)
        return Settings(plain(model))
    layers = model.layers
    where = f"params.yaml: datasets.{name}.model.layers"
    if layers[0] != "auto" and layers[0] != facts.n_features:
        raise ConfigError(f"{where}: the first size is {layers[0]}, but the data has {facts.n_features} features")
    if layers[-1] != "auto" and layers[-1] != outputs:
        what = f"{outputs} classes" if loss == "cross_entropy" else f"{outputs} target(s)"
        raise ConfigError(f"{where}: the last size is {layers[-1]}, but the data has {what}")
    return Settings({**plain(model), "layers": [facts.n_features, *layers[1:-1], outputs]})

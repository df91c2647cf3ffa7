"""A declared network's shapes, worked out from the data's shape without torch (validate runs before train).

Every size the user may leave out follows from here: the first and last of `layers: [auto, 16, auto]`,
and each block's input size. A block that cannot take its input is named with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinynets.blocks import BlockKind, Shape, ShapeProblem, kind_of, shown
from tinynets.common.errors import ConfigError
from tinynets.common.facts import DataFacts, outputs_needed
from tinynets.common.losses import LOSSES
from tinynets.common.settings import Settings, plain

if TYPE_CHECKING:
    from tinynets.params import ModelConfig

RANKS = {1: "a vector of features", 2: "steps x features", 3: "channels x height x width"}


@dataclass(frozen=True)
class Layer:
    """One block as built: its declaration, and the shape of a sample going in and coming out."""

    block: Any  # a block's params (the schema's model or a settings view)
    shape_in: Shape
    shape_out: Shape


def _where(name: str, index: int, block) -> str:
    return f"params.yaml: datasets.{name}.model.blocks.{index} ({block.type})"


def _wrong_rank(kind: BlockKind, shape: Shape) -> str:
    if kind.input_rank == 1:
        return f"its input is {shown(shape)}; put a flatten block before it"
    hint = "; put a sequence block before it" if kind.input_rank == 2 and len(shape) == 1 else ""
    return f"needs {RANKS.get(kind.input_rank, f'{kind.input_rank} axes')}, but its input is {shown(shape)}{hint}"


def trace(name: str, model: ModelConfig, input_shape: Shape, outputs: int) -> list[Layer]:
    """Each block with its input and output shape (per sample), for data of `input_shape` and `outputs`.

    Images of shape (H, W) get a channel axis, (1, H, W), when the first block that needs a rank needs 3.
    """
    blocks = model.blocks or []
    ranks = [kind_of(block.type).input_rank for block in blocks]
    first_rank = next((rank for rank in ranks if rank is not None), None)
    shape = (1, *input_shape) if first_rank == 3 and len(input_shape) == 2 else tuple(input_shape)
    layers = []
    for index, block in enumerate(blocks):
        kind = kind_of(block.type)
        try:
            if kind.input_rank is not None and len(shape) != kind.input_rank:
                raise ShapeProblem(_wrong_rank(kind, shape))
            out = kind.shape(block, shape, outputs)
        except ShapeProblem as problem:
            raise ConfigError(f"{_where(name, index, block)}: {problem}") from None
        layers.append(Layer(block, shape, out))
        shape = out
    if shape != (outputs,):
        raise ConfigError(
            f"params.yaml: datasets.{name}.model.blocks: the network gives {shown(shape)} outputs per sample, "
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
        what = f"{outputs} classes" if LOSSES[loss].targets == "classes" else f"{outputs} target(s)"
        raise ConfigError(f"{where}: the last size is {layers[-1]}, but the data has {what}")
    return Settings({**plain(model), "layers": [facts.n_features, *layers[1:-1], outputs]})

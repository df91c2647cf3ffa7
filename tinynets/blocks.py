"""Every kind of block a `blocks:` model can declare, each in one entry: its params, the shape it gives, and
the torch module it builds.

The rest derives from `KINDS`: params.py makes the schema (one pydantic model per kind, their union), shapes.py
traces each block's shape, models.py builds the modules, the report describes a model. Adding a kind is one
entry here and its tests (tests/test_blocks.py adds a toy kind and trains it). Nothing here imports torch
until a module is built: validate works out the shapes without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from annotated_types import Ge, Lt

if TYPE_CHECKING:
    from torch import nn

Shape = tuple[int, ...]  # one sample's, without the batch axis
Count = Annotated[int, Ge(1)]
Size = Count | Literal["auto"]  # auto: the number of classes or targets (the last linear block only)
REQUIRED = ...  # a param the user must set

# The activations a model can use, by name, with the torch module of each (`layers` and `blocks` alike).
ACTIVATIONS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "gelu": "GELU",
    "elu": "ELU",
    "identity": "Identity",
}


class ShapeProblem(ValueError):
    """A block cannot take the input it is given; the message says why (shapes.py names the block)."""


@dataclass(frozen=True)
class BlockKind:
    """One kind of block: the `type` names that select it, its params, its shape rule and its torch module."""

    name: str  # the schema's name for it, e.g. Pool2d for maxpool2d and avgpool2d
    types: tuple[str, ...]
    # the shape of a sample going out, from the block's params, the shape coming in and the outputs needed
    shape: Callable[[Any, Shape, int], Shape]
    # its torch module, from the block's params and the shapes in and out
    module: Callable[[Any, Shape, Shape], nn.Module]
    # each param's (annotation, default), as pydantic.create_model takes them; REQUIRED: no default
    params: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    # the rank of the input it needs: 1 a vector of features, 2 steps x features, 3 channels x height x width;
    # None: any
    input_rank: int | None = None
    # models.py applies the model's `init` to the weight of any nn.Linear or nn.Conv2d a kind builds; recurrent
    # layers keep torch's own initialisation


def _torch() -> Any:
    from torch import nn  # imported when a module is built, never to check shapes

    return nn


def shown(shape: Shape) -> str:
    """A shape as the messages write it, e.g. 6x14x14."""
    return "x".join(map(str, shape))


def _same(block: Any, shape: Shape, outputs: int) -> Shape:
    return shape


def _linear(block: Any, shape: Shape, outputs: int) -> Shape:
    return (outputs if block.out == "auto" else block.out,)


def _flatten(block: Any, shape: Shape, outputs: int) -> Shape:
    size = 1
    for dimension in shape:
        size *= dimension
    return (size,)


def _window(block: Any, shape: Shape, channels: int) -> Shape:
    """The output of a kernel sliding over (channels, height, width)."""
    kernel = block.kernel_size
    stride = getattr(block, "stride", None) or kernel
    padding = getattr(block, "padding", 0)
    height, width = ((size + 2 * padding - kernel) // stride + 1 for size in shape[1:])
    if height < 1 or width < 1:
        raise ShapeProblem(f"its {shown(shape[1:])} input is smaller than kernel_size {kernel}")
    return (channels, height, width)


def _pool(block: Any, shape: Shape, outputs: int) -> Shape:
    return _window(block, shape, shape[0])


def _conv(block: Any, shape: Shape, outputs: int) -> Shape:
    return _window(block, shape, block.out_channels)


def _steps(block: Any, shape: Shape, outputs: int) -> Shape:
    if len(shape) != 1:
        raise ShapeProblem(f"its input is {shown(shape)}, already steps x features or more: leave this block out")
    if shape[0] % block.features:
        raise ShapeProblem(f"its {shape[0]} inputs do not make steps of {block.features} features each")
    return (shape[0] // block.features, block.features)


def _recurrent(block: Any, shape: Shape, outputs: int) -> Shape:
    if block.dropout and block.layers == 1:
        raise ShapeProblem("its dropout acts between stacked layers, and it has one: set layers above 1")
    return (block.hidden * (2 if block.bidirectional else 1),)


def _recurrent_module(block: Any, shape_in: Shape, shape_out: Shape) -> nn.Module:
    from tinynets.recurrent import LastHidden

    return LastHidden(block.type, shape_in[1], block.hidden, block.layers, block.bidirectional, block.dropout)


def _pool_module(block: Any, shape_in: Shape, shape_out: Shape) -> nn.Module:
    pool = _torch().MaxPool2d if block.type == "maxpool2d" else _torch().AvgPool2d
    return pool(block.kernel_size, block.stride)


def _batch_norm(dims: int) -> BlockKind:
    """torch's BatchNorm1d (over vectors) or BatchNorm2d (over each channel of images)."""
    name = f"BatchNorm{dims}d"
    module = lambda block, shape_in, shape_out: getattr(_torch(), name)(shape_in[0])  # noqa: E731
    return BlockKind(name, (name.lower(),), input_rank=2 * dims - 1, shape=_same, module=module)


def activation_module(name: str) -> nn.Module:
    """The torch module of an activation named in params.yaml."""
    return getattr(_torch(), ACTIVATIONS[name])()


KINDS: list[BlockKind] = [
    BlockKind(
        "Linear",
        ("linear",),
        params={"out": (Size, REQUIRED)},
        input_rank=1,
        shape=_linear,
        module=lambda block, shape_in, shape_out: _torch().Linear(shape_in[0], shape_out[0]),
    ),
    BlockKind(
        "Conv2d",
        ("conv2d",),
        params={
            "out_channels": (Count, REQUIRED),
            "kernel_size": (Count, REQUIRED),
            "stride": (Count, 1),
            "padding": (Annotated[int, Ge(0)], 0),
        },
        input_rank=3,
        shape=_conv,
        module=lambda block, shape_in, shape_out: _torch().Conv2d(
            shape_in[0], block.out_channels, block.kernel_size, block.stride, block.padding
        ),
    ),
    BlockKind(
        "Pool2d",
        ("maxpool2d", "avgpool2d"),
        params={"kernel_size": (Count, REQUIRED), "stride": (Count | None, None)},  # stride default: kernel_size
        input_rank=3,
        shape=_pool,
        module=_pool_module,
    ),
    BlockKind(
        "Dropout",
        ("dropout",),
        params={"p": (Annotated[float, Ge(0), Lt(1)], 0.5)},
        shape=_same,
        module=lambda block, shape_in, shape_out: _torch().Dropout(block.p),
    ),
    BlockKind(
        "Sequence",  # a vector read as steps: 30 numbers with features 1 are 30 steps of one number
        ("sequence",),
        params={"features": (Count, 1)},
        shape=_steps,  # it takes a vector, and says so itself: the usual hint (a flatten block) would mislead
        module=lambda block, shape_in, shape_out: _torch().Unflatten(1, shape_out),
    ),
    BlockKind(
        "Recurrent",  # out: the top layer's hidden state after the last step
        ("rnn", "lstm", "gru"),
        params={
            "hidden": (Count, REQUIRED),
            "layers": (Count, 1),
            "bidirectional": (bool, False),
            "dropout": (Annotated[float, Ge(0), Lt(1)], 0.0),
        },
        input_rank=2,
        shape=_recurrent,
        module=_recurrent_module,
    ),
    BlockKind("Flatten", ("flatten",), shape=_flatten, module=lambda block, shape_in, shape_out: _torch().Flatten()),
    *(_batch_norm(dims) for dims in (1, 2)),
    BlockKind(
        "Activation",
        tuple(name for name in ACTIVATIONS if name != "identity"),
        shape=_same,
        module=lambda block, shape_in, shape_out: activation_module(block.type),
    ),
]


def kind_of(block_type: str) -> BlockKind:
    """The kind a block's `type` selects (KeyError for a type no kind declares, as in another tinynets's file)."""
    for kind in KINDS:
        if block_type in kind.types:
            return kind
    raise KeyError(f"no block kind {block_type!r}")


def block_types() -> tuple[str, ...]:
    """Every `type` a block can have."""
    return tuple(name for kind in KINDS for name in kind.types)


def described(block: Mapping[str, Any]) -> str:
    """A block in a few words, e.g. 'maxpool2d (kernel_size 2)': its type, then each param with a value
    (defaults filled in) in the order its kind declares them."""
    values = [(key, block.get(key)) for key in kind_of(block["type"]).params]
    options = ", ".join(f"{key} {value}" for key, value in values if value is not None)
    return f"{block['type']} ({options})" if options else block["type"]

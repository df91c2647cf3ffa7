import pytest
import torch

from tinynets.common.errors import ConfigError
from tinynets.models import build_model, parameter_count
from tinynets.params import ModelConfig
from tinynets.shapes import trace

LENET = [
    {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 5},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "flatten"},
    {"type": "linear", "out": 120},
    {"type": "relu"},
    {"type": "linear", "out": "auto"},
]


def test_every_block_is_sized_from_the_image_shape():
    layers = trace("fashion", ModelConfig(blocks=LENET), (28, 28), outputs=10)
    assert layers[0].shape_in == (1, 28, 28) and layers[0].shape_out == (6, 28, 28)
    assert layers[5].shape_out == (16, 5, 5) and layers[6].shape_out == (400,)
    assert layers[-1].shape_out == (10,)


def test_the_built_network_runs_on_images_and_counts_its_parameters():
    model = build_model(ModelConfig(blocks=LENET), (28, 28), 10)
    assert model(torch.zeros(3, 28, 28)).shape == (3, 10)
    assert parameter_count(model) == (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 10 + 10)


@pytest.mark.parametrize(
    ("blocks", "shape", "message"),
    [
        (
            [*LENET[:3], {"type": "linear", "out": 10}],
            (28, 28),
            "blocks.3 (linear): its input is 6x14x14; put a flatten",
        ),
        (
            [{"type": "conv2d", "out_channels": 4, "kernel_size": 9}, {"type": "flatten"}],
            (6, 6),
            "smaller than kernel_size 9",
        ),
        ([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}], (4,), "needs channels x height x width"),
        ([{"type": "linear", "out": 7}], (4,), "the network gives 7 outputs per sample, but the data needs 3"),
    ],
    ids=["linear without flatten", "kernel too large", "conv on a table", "wrong output count"],
)
def test_a_block_that_cannot_take_its_input_is_named(blocks, shape, message):
    with pytest.raises(ConfigError, match=r"datasets\.x\.model\.blocks") as error:
        trace("x", ModelConfig(blocks=blocks), shape, outputs=3)
    assert message in str(error.value)

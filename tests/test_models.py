import pytest
import torch
from torch import nn

from tinynets.blocks import ACTIVATIONS, activation_module
from tinynets.models import build_mlp
from tinynets.params import ModelConfig
from tinynets.training.backprop import ACTIVATION_KERNELS


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_each_activation_module_computes_what_the_explicit_pass_does(name):
    x = torch.linspace(-3, 3, 13)
    expected = x if name == "identity" else ACTIVATION_KERNELS[name][0](x)
    assert torch.equal(activation_module(name)(x), expected)


def test_seed_001_network_shape_and_normal_init():
    torch.manual_seed(0)
    model = build_mlp(ModelConfig(layers=[784, 512, 256, 10], init="normal", init_std=0.01))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 512), (512, 256), (256, 10)]
    assert linears[0].weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert model(torch.zeros(5, 28, 28)).shape == (5, 10)  # images are flattened by the model


def test_output_activation_applies_to_the_last_layer_only():
    model = build_mlp(ModelConfig(layers=[30, 60, 60, 1], activation="relu", output_activation="sigmoid"))
    assert isinstance(model[-1], nn.Sigmoid)
    assert sum(isinstance(m, nn.ReLU) for m in model) == 2
    output = model(torch.randn(8, 30))
    assert ((output > 0) & (output < 1)).all()


@pytest.mark.parametrize("dropout", [nn.Dropout(0.5), nn.Dropout1d(0.5), nn.AlphaDropout(0.5)])
def test_outputs_are_computed_in_eval_mode_and_the_model_keeps_its_mode(dropout):
    from tinynets.inference import eval_forward, eval_outputs

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), dropout, nn.Linear(8, 2))
    x = torch.randn(16, 4)
    with torch.no_grad():
        expected = nn.Sequential(*model).eval()(x)  # the same modules, dropout off
    model.train()
    assert torch.equal(eval_outputs(model, x), expected) and model.training
    assert torch.equal(eval_forward(model)(x), expected) and model.training
    model.eval()
    assert torch.equal(eval_outputs(model, x), expected) and not model.training

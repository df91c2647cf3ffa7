import pytest
import torch

from tinynets.common.losses import LOSSES
from tinynets.evaluation.row_losses import ROW_LOSSES
from tinynets.models import build_mlp
from tinynets.params import ModelConfig
from tinynets.training.backprop import ACTIVATION_KERNELS, ExplicitMlp
from tinynets.training.steps import TORCH_LOSSES


def batch(loss: str, rows: int, outputs: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(rows, 6, generator=generator)
    if LOSSES[loss].targets == "classes":
        return x, torch.randint(0, outputs, (rows,), generator=generator)
    if LOSSES[loss].targets == "binary":
        return x, torch.randint(0, 2, (rows, outputs), generator=generator).float()
    return x, 2 * torch.randn(rows, outputs, generator=generator)  # errors both sides of huber's delta


@pytest.mark.parametrize("activation", [*ACTIVATION_KERNELS, "identity"])
@pytest.mark.parametrize("loss", list(LOSSES))  # every loss of the registry has its kernel
def test_gradients_are_bit_identical_to_autograd(activation, loss):
    outputs = 3 if LOSSES[loss].targets == "classes" else 2
    output_activation = "sigmoid" if loss == "mse" else "identity"
    config = ModelConfig(layers=[6, 8, 5, outputs], activation=activation, output_activation=output_activation)
    torch.manual_seed(0)
    model = build_mlp(config)
    explicit = ExplicitMlp(model, config)
    for rows in (33, 17):  # the second call writes into the first call's .grad tensors
        x, y = batch(loss, rows, outputs)
        value = explicit.loss_backward(x, y, loss)
        ours = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        expected = TORCH_LOSSES[loss](model(x), y)
        expected.backward()

        assert torch.equal(value, expected.detach())
        for grad, wanted in zip(ours, (p.grad for p in model.parameters()), strict=True):
            assert torch.equal(grad, wanted)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_losses_values_per_row_average_to_the_loss_it_trains_with(loss):
    # scoring keeps a loss per validation row (numpy) beside what training measured (torch): one loss, two views
    outputs = {"classes": 3, "binary": 1, "numbers": 2}[LOSSES[loss].targets]
    x, y = batch(loss, 40, outputs)
    output = 3 * x[:, :outputs]  # logits and errors large enough to leave huber's quadratic part
    per_row = ROW_LOSSES[loss](output.double().numpy()[None], y.numpy())
    assert per_row.shape == (1, 40)
    assert per_row.mean() == pytest.approx(
        float(TORCH_LOSSES[loss](output.double(), y.double() if y.is_floating_point() else y)), rel=1e-9
    )


def test_forward_matches_the_module_and_sees_optimizer_updates():
    config = ModelConfig(layers=[6, 4, 3])
    model = build_mlp(config)
    explicit = ExplicitMlp(model, config)
    x, _ = batch("mse", 10, 3)
    with torch.no_grad():
        model[1].weight.mul_(2)
        assert torch.equal(explicit.forward(x), model(x))

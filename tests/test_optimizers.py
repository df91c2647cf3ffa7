import pytest
import torch
from pydantic import TypeAdapter

from tinynets.params import OptimizerConfig
from tinynets.training.optimizers import make_optimizer

CASES = [
    {"name": "sgd"},
    {"name": "sgd", "momentum": 0.9},
    {"name": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"name": "adam"},
    {"name": "adam", "betas": [0.8, 0.99], "weight_decay": 0.01},
    {"name": "rmsprop"},
    {"name": "rmsprop", "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01},
]
TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}


def parameters() -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in [(5, 3), (5,), (2, 5)]]


def run_steps(parameters, optimizer, steps=25, generator=None):
    generator = generator or torch.Generator().manual_seed(1)
    for _ in range(steps):
        for parameter in parameters:
            parameter.grad = torch.randn(parameter.shape, generator=generator)
        optimizer.step()
    return [parameter.detach() for parameter in parameters]


@pytest.mark.parametrize("options", CASES, ids=lambda options: "-".join(f"{v}" for v in options.values()))
def test_updates_are_bit_identical_to_torch_optim(options):
    config = TypeAdapter(OptimizerConfig).validate_python(options)
    ours = run_steps(params := parameters(), make_optimizer(params, config, lr=0.01))
    torch_options = config.model_dump(exclude={"name"})
    reference = run_steps(params := parameters(), TORCH[config.name](params, lr=0.01, **torch_options))
    for value, expected in zip(ours, reference, strict=True):
        assert torch.equal(value, expected)


def test_a_restored_state_continues_exactly():
    config = TypeAdapter(OptimizerConfig).validate_python({"name": "adam"})
    straight = run_steps(params := parameters(), make_optimizer(params, config, lr=0.01), steps=10)
    grads = torch.Generator().manual_seed(1)
    first = make_optimizer(params := parameters(), config, lr=0.01)
    run_steps(params, first, steps=5, generator=grads)
    second = make_optimizer(params, config, lr=0.01)
    second.load_state_dict(first.state_dict())
    resumed = run_steps(params, second, steps=5, generator=grads)
    for value, expected in zip(resumed, straight, strict=True):
        assert torch.equal(value, expected)

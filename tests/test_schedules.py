import math

import pytest
import torch

from tinynets.params import CosineSchedule, PlateauSchedule, StepSchedule
from tinynets.training.schedules import make_schedule

CASES = [
    (StepSchedule(name="step", step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (
        CosineSchedule(name="cosine", t_max=7, eta_min=0.001),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.001),
    ),
    (
        PlateauSchedule(name="plateau", factor=0.5, patience=2),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2),
    ),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's: scheduler.step() before optimizer.step()
@pytest.mark.parametrize(("config", "reference"), CASES, ids=lambda case: getattr(case, "name", ""))
def test_every_epochs_lr_is_torchs(config, reference):
    ours = make_schedule(config, lr=0.1, epochs=20)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    theirs = reference(optimizer)
    losses = [1.0, 0.9, 0.95, 0.95, 0.97, 0.8, 0.81, 0.82, 0.83, 0.9] * 3  # plateaus for ReduceLROnPlateau
    for loss in losses:
        assert ours.lr == optimizer.param_groups[0]["lr"]
        ours.step(loss)
        theirs.step(loss) if config.name == "plateau" else theirs.step()
    assert ours.lr == optimizer.param_groups[0]["lr"]


def test_a_schedule_state_round_trips():
    first = make_schedule(PlateauSchedule(name="plateau", patience=1), lr=0.1, epochs=10)
    for loss in (1.0, 1.0, 1.0):
        first.step(loss)
    second = make_schedule(PlateauSchedule(name="plateau", patience=1), lr=0.1, epochs=10)
    second.load_state_dict(first.state_dict())
    first.step(1.0)
    second.step(1.0)
    assert first.lr == second.lr and not math.isclose(first.lr, 0.1)

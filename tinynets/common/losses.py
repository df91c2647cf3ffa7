"""The losses a net trains with, each declared once: what its targets are and torch's function for it. The train
step, the targets' dtype, decisions, the schema's rules and the shapes read this registry; explicit backprop
holds each loss's gradient kernel (training/backprop.LOSS_KERNELS) and scoring its value per row
(evaluation/row_losses.ROW_LOSSES) beside it, outside common/ so that a change to either reruns only what
reads it. tests/test_backprop.py checks every entry has both, against torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Targets = Literal["classes", "binary", "numbers"]
HUBER_DELTA = 1.0  # torch's default, on the targets as trained on: half the squared error below it, linear above


@dataclass(frozen=True)
class Loss:
    """A loss: its params.yaml name, its targets (class indices, one 0/1 column, or numbers), and
    torch.nn.functional's function for it with the keywords it is called with."""

    name: str
    targets: Targets
    function: str
    keywords: dict[str, float] = field(default_factory=dict)

    @property
    def classifies(self) -> bool:
        """Whether the net it trains is a classifier (its targets are classes) rather than a regressor."""
        return self.targets != "numbers"


LOSSES = {
    loss.name: loss
    for loss in (
        Loss("cross_entropy", "classes", "cross_entropy"),
        Loss("bce_with_logits", "binary", "binary_cross_entropy_with_logits"),
        Loss("mse", "numbers", "mse_loss"),
        Loss("huber", "numbers", "huber_loss", {"delta": HUBER_DELTA}),
    )
}

"""The recurrent block's module: torch's RNN, LSTM or GRU reading (batch, steps, features), giving what a
following linear layer needs, the last step's hidden state."""

from __future__ import annotations

import torch
from torch import nn

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class LastHidden(nn.Module):
    """A batch-first recurrent net whose output is its top layer's hidden state after the last step: (batch,
    hidden), or (batch, 2 x hidden) when bidirectional (the forward direction's, then the backward one's, which
    has read the sequence back to its first step)."""

    def __init__(self, cell: str, features: int, hidden: int, layers: int, bidirectional: bool, dropout: float) -> None:
        super().__init__()
        self.recurrent = CELLS[cell](
            features, hidden, num_layers=layers, bidirectional=bidirectional, dropout=dropout, batch_first=True
        )
        self.directions = 2 if bidirectional else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.recurrent(x)
        hidden = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (hidden, cell)
        # hidden: (layers x directions, batch, hidden); the top layer's directions are its last rows
        return hidden[-self.directions :].transpose(0, 1).flatten(1)

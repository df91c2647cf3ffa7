"""Model files: plain tensors and strings, written atomically, read back with weights_only=True."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinynets.artifacts import atomic_path
from tinynets.errors import DataError


def save_model(path: Path, model: nn.Module, **info: Any) -> None:
    """Save a model's state_dict (moved to the CPU) with a few plain facts about how it was trained."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, **info}, tmp)


def load_model(path: Path) -> dict[str, Any]:
    """Read a model file; anything but tensors and plain data (a crafted pickle, say) is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DataError(f"{path} not found (run the train stage first)") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        reason = str(error).splitlines()[0][:200]
        raise DataError(f"{path}: refused to load, not a plain tensor checkpoint ({reason})") from None

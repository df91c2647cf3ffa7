"""Model files: safetensors, the weights and one JSON string of facts about them, written atomically.

No pickle, and the same bytes for the same weights: torch.save names its zip archive after the file it
writes, so an atomic write under a temporary name would change them every run (and every hash in
dvc.lock). The facts (dataset, model declaration, loss, device, ...) can be read without torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinynets.common.errors import DataError
from tinynets.common.files import atomic_path

if TYPE_CHECKING:
    from torch import nn

INFO_KEY = "tinynets"  # one metadata entry: safetensors orders several differently from run to run


def save_model(path: Path, module: nn.Module, **info: Any) -> None:
    """Save a module's weights (moved to the CPU) with plain facts about it (JSON-able) as one safetensors file."""
    from safetensors.torch import save

    state = {key: value.detach().cpu().contiguous() for key, value in module.state_dict().items()}
    payload = save(state, metadata={INFO_KEY: json.dumps(info, sort_keys=True)})
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def load_model(path: Path) -> dict[str, Any]:
    """A model file's facts and its `state_dict` (torch tensors on the CPU); anything else is refused."""
    return _read(path, tensors=True)


def read_info(path: Path) -> dict[str, Any]:
    """A model file's facts alone, read without torch."""
    return _read(path, tensors=False)


def _read(path: Path, tensors: bool) -> dict[str, Any]:
    from safetensors import SafetensorError, safe_open

    sys.audit("open", str(path), "rb", 0)  # the event Python's own open raises: safetensors reads it in Rust
    try:
        with safe_open(path, framework="pt" if tensors else "numpy") as file:
            info = json.loads(file.metadata()[INFO_KEY])
            if tensors:
                info["state_dict"] = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise DataError(f"{path} not found (run the train stage first)") from None
    except (SafetensorError, ValueError, KeyError, TypeError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise DataError(f"{path}: refused to load, not a tinynets safetensors model ({reason})") from None
    return info

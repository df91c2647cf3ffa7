"""Device resolution: `auto` picks the best available; an explicit device that is missing is an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinynets.common.errors import ConfigError

if TYPE_CHECKING:
    import torch

ALWAYS_AVAILABLE = ("auto", "cpu")


def check_available(requested: str) -> None:
    """Fail early, before any data is written, when an explicit accelerator is missing (imports torch only then)."""
    if requested not in ALWAYS_AVAILABLE:
        resolve_device(requested)


def resolve_device(requested: str) -> torch.device:
    """Turn auto | cpu | cuda | cuda:N | mps into an available torch.device, or raise ConfigError."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise ConfigError(f"device {requested!r} requested, but CUDA is not available here (use auto or cpu)")
        if (device.index or 0) >= count:
            raise ConfigError(f"device {requested!r} requested, but only {count} CUDA device(s) exist")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {requested!r} requested, but MPS is not available here (use auto or cpu)")
    return device


def device_name(device: torch.device) -> str:
    """A device's name as recorded in the metrics, e.g. 'cpu' or 'cuda:0 (NVIDIA H100)'."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type

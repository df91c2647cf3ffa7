"""Training in several processes: the torchrun launch, the process group, and this process's rank."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import torch

from tinynets.common.stage import main_module
from tinynets.devices import resolve_device
from tinynets.training.tensors import Shard


def launched() -> bool:
    """True in a process that torchrun started (it sets these variables for every rank)."""
    return all(name in os.environ for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))


def relaunch(processes: int) -> NoReturn:
    """Run this stage again under `torchrun --standalone` with `processes` ranks; exit with torchrun's code."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    sys.exit(subprocess.call([*torchrun, "-m", main_module(), *sys.argv[1:]]))


@contextmanager
def process_group(requested: str) -> Iterator[tuple[torch.device, Shard]]:
    """This process's device and shard; under torchrun, inside a process group (nccl on CUDA, gloo on CPU)."""
    alone, device = not launched(), resolve_device(requested)
    if alone:
        yield device, Shard()
        return
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if device.type == "cuda":  # one GPU per rank
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield device, Shard(rank, world)
    finally:
        torch.distributed.destroy_process_group()

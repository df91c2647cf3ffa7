"""A dataset's splits as tensors resident on one device, and each process's batches of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from tinynets.common.losses import LOSSES
from tinynets.inference import as_inputs


@dataclass(frozen=True)
class Tensors:
    """A dataset's train and test split (and a validation split, if held out) as tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_valid: torch.Tensor | None = None
    y_valid: torch.Tensor | None = None


def as_targets(y: np.ndarray, loss: str) -> torch.Tensor:
    """Class indices for a loss over classes; a float column (or columns) for a binary or a regression loss."""
    target = torch.from_numpy(np.ascontiguousarray(y))
    if LOSSES[loss].targets == "classes":
        return target.long()
    return target.float().reshape(len(target), -1)


def to_tensors(arrays: dict[str, np.ndarray], loss: str, device: torch.device) -> Tensors:
    """Move a features file's arrays (and x_valid, y_valid if present) to the device once, targets shaped for
    the loss."""
    splits = ("train", "test", "valid") if "x_valid" in arrays else ("train", "test")
    tensors = {}
    for split in splits:
        tensors[f"x_{split}"] = torch.from_numpy(arrays[f"x_{split}"]).to(device)
        tensors[f"y_{split}"] = as_targets(arrays[f"y_{split}"], loss).to(device)
    return Tensors(**tensors)


@dataclass(frozen=True)
class Shard:
    """This process's share of every batch: rows rank, rank + world, ... (DistributedSampler's striding)."""

    rank: int = 0
    world: int = 1

    def total(self, value: torch.Tensor) -> torch.Tensor:
        """The sum of `value` over all processes."""
        if self.world > 1:
            torch.distributed.all_reduce(value)
        return value

    def mean(self, loss: torch.Tensor, rows: int, all_rows: int) -> torch.Tensor:
        """The mean over all processes' rows of a loss that is the mean over this process's `rows`."""
        return loss if self.world == 1 else self.total(loss * rows) / all_rows


ONE_PROCESS = Shard()


def batch_rows(batch_size: int | None, rows: int) -> int:
    """The rows of a batch: train.batch_size, or every row for a full batch (null, or more than there are)."""
    return min(batch_size or rows, rows)


def epoch_batches(
    data: Tensors, batch: int, order: torch.Tensor | None, shard: Shard
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """This process's (inputs, targets) of each batch of one epoch, in `order` (None: as stored), with the
    batch's rows over every process (the last batch may hold fewer, and a process none of them)."""
    rows = len(data.x_train)
    for start in range(0, rows, batch):
        stop = min(start + batch, rows)
        if order is None:
            index = slice(start + shard.rank, stop, shard.world)
            yield as_inputs(data.x_train[index]), data.y_train[index], stop - start
        else:  # index_select gathers rows ten times faster than x[index]
            index = order[start + shard.rank : stop : shard.world]
            yield as_inputs(data.x_train.index_select(0, index)), data.y_train.index_select(0, index), stop - start

"""Progress while training: a tqdm bar on a terminal, about ten plain lines otherwise; a NaN loss stops it."""

from __future__ import annotations

import math
import sys
import time

import torch

from tinynets.common.errors import TrainingError
from tinynets.training.loop import Run


class Monitor:
    """Shows progress (a tqdm bar on a terminal, about ten plain lines otherwise) and stops on a NaN loss.

    It reads the history from the device only when it shows it, about twice a second, so the
    training loop itself never waits on the device.
    """

    INTERVAL_S = 0.5

    def __init__(
        self,
        name: str,
        epochs: int,
        lr: float,
        start: int = 0,
        stream=sys.stdout,
        label: str | None = None,
        finished: bool = False,
    ) -> None:
        self.dataset, self.epochs, self.lr, self.stream = name, epochs, lr, stream
        self.name = label or name  # what lines start with, e.g. "iris (seed 43)" for a repeat
        self.checked = start  # epochs already done (and checked) before a resumed run
        self.last_read = time.monotonic()
        self.line_every = max(1, epochs // 10)
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=start, desc=self.name, unit="epoch", file=stream, leave=True)
        elif finished:  # a seed that ended (all epochs, or an early stop) before a later seed was interrupted
            print(f"{self.name}: finished before the interruption, restored from its checkpoint", file=stream, flush=True)
        elif start:
            print(f"{self.name}: resuming at epoch {start + 1}/{epochs} from a checkpoint", file=stream, flush=True)

    def __call__(self, run: Run) -> None:
        done = run.epoch
        last = done == self.epochs or run.stopped
        now = time.monotonic()
        due_line = self.bar is None and (done % self.line_every == 0 or last)
        if not (due_line or last or now - self.last_read >= self.INTERVAL_S):
            return
        self.last_read = now
        seen = run.history[self.checked : done].cpu()
        self._stop_if_diverged(seen)
        self.checked = done
        losses = {f"{column} loss": value for column, value in zip(run.columns, seen[-1].tolist(), strict=True)}
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(
                {key.replace(" ", "_"): f"{value:.4f}" for key, value in losses.items()}, refresh=False
            )
            if last:
                self.bar.close()
        elif due_line:
            shown = " ".join(f"{key} {value:.4f}" for key, value in losses.items())
            print(f"{self.name}: epoch {done}/{self.epochs} {shown}", file=self.stream, flush=True)
        if run.stopped:
            best = run.stopper.best_epoch
            print(f"{self.name}: stopped early at epoch {done}, keeping epoch {best}", file=self.stream, flush=True)

    def _stop_if_diverged(self, seen: torch.Tensor) -> None:
        finite = torch.isfinite(seen[:, 0])
        if bool(finite.all()):
            return
        first = int((~finite).nonzero()[0, 0])
        value = float(seen[first, 0])
        if self.bar is not None:
            self.bar.close()
        raise TrainingError(
            f"{self.dataset}: training diverged at epoch {self.checked + first + 1}: the train loss is "
            f"{'nan' if math.isnan(value) else value} with lr {self.lr}; try a smaller datasets.{self.dataset}.train.lr"
        )

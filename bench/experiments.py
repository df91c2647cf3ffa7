"""What `tinynets compare` costs beyond DVC's own records: a dozen experiments saved as a sweep leaves them
(a learning rate each, three seeds' validation accuracies), then `dvc exp show --json` and `tinynets compare
iris`, timed in turn."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

COUNT = 12


Timed = Callable[[list[str], Path], float]  # pipeline.timed: a command's wall seconds


def save_sweep(clone: Path, timed: Timed) -> None:
    """COUNT experiments with `dvc exp save`: each its own lr, repeats and validation split, and per-seed figures
    (drawn, not trained: what is timed is reading and ranking them), then the workspace as it was."""
    params, metrics = clone / "params.yaml", clone / "metrics" / "iris.json"
    declared, scores = yaml.safe_load(params.read_text()), json.loads(metrics.read_text())
    draw = np.random.default_rng(0)
    for index in range(COUNT):
        declared["datasets"]["iris"]["train"] |= {"lr": round(0.01 * (index + 1), 2), "repeats": 3, "valid_size": 0.2}
        params.write_text(yaml.safe_dump(declared, sort_keys=False))
        seeds = {
            str(42 + seed): value for seed, value in enumerate((0.9 + 0.004 * index + draw.normal(0, 0.01, 3)).round(4))
        }
        metrics.write_text(json.dumps(scores | {"valid": {"accuracy": seeds["42"], "per_seed": {"accuracy": seeds}}}))
        timed(["dvc", "exp", "save", "-n", f"sweep-{index}"], clone)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=clone, check=True)


def measure(clone: Path, repeats: int, timed: Timed) -> tuple[float, float]:
    """The median seconds of `dvc exp show --json` and of `tinynets compare iris` over the saved sweep."""
    save_sweep(clone, timed)
    shows, compares = [], []
    for _ in range(repeats):
        shows.append(timed(["dvc", "exp", "show", "--json"], clone))
        compares.append(timed(["tinynets", "compare", "iris"], clone))
    return statistics.median(shows), statistics.median(compares)

"""The pipeline's figures: a clean `dvc repro` against the seeds' own scripts, a no-op repro, and each
stage's wall time, own work, overhead beyond the imports it needs, and peak memory."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import experiments
import loops
import numpy as np
import recording
import yaml

from tinynets.rules import load_params

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "bench" / "seeds").glob("seed_*.py"))
OUTPUTS = ["models", "plots", "reports", "runs", "metrics", "checkpoints", "settings", ".dvc/cache"]
# What each stage cannot do without; its overhead is compared with the time to import just these.
NEEDS = {
    "validate": ["tinynets.rules"],
    "featurize": ["numpy"],
    "train": ["torch"],
    "evaluate": ["sklearn.metrics", "sklearn.linear_model", "sklearn.dummy"],
    "plot": ["matplotlib.pyplot"],
    "report": ["numpy"],
}
# Offline, MNIST comes from the package registry's pickle without importing torchvision (see sources.py).
SOURCE_NEEDS = {
    "sklearn": ["sklearn.datasets"],
    "generated": ["numpy"],
    "torchvision": ["numpy"],
    "csv": ["pandas", "sklearn.model_selection"],
}


@dataclass(frozen=True)
class StageCost:
    name: str
    wall_s: float
    work_s: float
    needed_import_s: float
    peak_rss_mb: float

    @property
    def excess_s(self) -> float:
        """Start-up and exit beyond importing what the stage needs: wall - work - needed imports."""
        return self.wall_s - self.work_s - self.needed_import_s


def tool_env() -> dict[str, str]:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", MPLBACKEND="Agg")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def timed(command: list[str], cwd: Path) -> float:
    """Run a command to completion; return its wall seconds."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def median(work: Callable[[], float], repeats: int) -> float:
    return statistics.median(work() for _ in range(repeats))


def clean_clone(scratch: Path) -> Path:
    """A clone of the committed project (HEAD), without outputs or DVC cache."""
    clone = scratch / "tinynets"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    return clone


def clean_repro(clone: Path) -> float:
    for name in OUTPUTS:
        shutil.rmtree(clone / name, ignore_errors=True)
    for folder in (clone / "data").iterdir():  # not data/own, a user's own files
        if folder.name != "own":
            shutil.rmtree(folder)
    return timed(["dvc", "repro"], clone)


def seed_scripts(clone: Path, scratch: Path) -> dict[str, float]:
    """The five tutorials' scripts run one after another, each its own process, on the pipeline's MNIST data.

    Seed 001 reads torchvision's MNIST from ../data; it gets the split the pipeline used (written as IDX).
    """
    raw = scratch / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    split = np.load(clone / "data" / "prepared" / "mnist.npz")
    for prefix, part in (("train", "train"), ("t10k", "test")):
        loops.write_idx(raw / f"{prefix}-images-idx3-ubyte", split[f"x_{part}"])
        loops.write_idx(raw / f"{prefix}-labels-idx1-ubyte", split[f"y_{part}"])
    work = scratch / "work"
    work.mkdir(exist_ok=True)
    return {script.stem: timed([sys.executable, str(script)], work) for script in SEEDS}


def import_seconds(modules: list[str], cwd: Path, repeats: int) -> float:
    statement = "; ".join(f"import {module}" for module in ["tinynets.common.files", *modules])
    return median(lambda: timed([sys.executable, "-c", statement], cwd), repeats)


def stage_costs(clone: Path, repeats: int) -> list[StageCost]:
    """Each stage of the last repro run again on its own, as DVC runs it, timed from outside and inside
    (medians of `repeats` runs; the highest peak memory)."""
    previous = os.getcwd()
    os.chdir(clone)
    try:
        params = load_params()
    finally:
        os.chdir(previous)
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    imports: dict[tuple[str, ...], float] = {}
    costs = []
    result_file = clone / ".stage_result.json"
    for name, stage in lock.items():
        _, _, module, *args = shlex.split(stage["cmd"])  # python -m stages.X [dataset]
        kind = module.removeprefix("stages.")
        needs = SOURCE_NEEDS[params.dataset(args[0]).data.source] if kind == "prepare" else NEEDS[kind]
        if tuple(needs) not in imports:
            imports[tuple(needs)] = import_seconds(needs, clone, repeats)
        timer = [sys.executable, str(ROOT / "bench" / "stage_timer.py"), str(result_file), module, *args]
        runs = []
        for _ in range(repeats):
            wall = timed(timer, clone)
            runs.append((wall, json.loads(result_file.read_text())))
        costs.append(
            StageCost(
                name,
                wall_s=statistics.median(wall for wall, _ in runs),
                work_s=statistics.median(inside["work_s"] for _, inside in runs),
                needed_import_s=imports[tuple(needs)],
                peak_rss_mb=max(inside["peak_rss_mb"] for _, inside in runs),
            )
        )
    result_file.unlink()
    return costs


def measure(repeats: int) -> tuple[dict[str, float], list[StageCost], dict[str, tuple[float, float, float]]]:
    """All the pipeline figures, in seconds, and each dataset's training without and with its learning records;
    the clone lives in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        clone = clean_clone(scratch)
        figures = {"clean repro": median(lambda: clean_repro(clone), repeats)}
        seeds = [seed_scripts(clone, scratch / "seeds") for _ in range(repeats)]
        figures["seed scripts"] = statistics.median(sum(run.values()) for run in seeds)
        figures["seed 000"] = statistics.median(run["seed_000_iris"] for run in seeds)
        timed(["dvc", "repro"], clone)
        figures["no-op repro"] = median(lambda: timed(["dvc", "repro"], clone), max(repeats, 5))
        costs = stage_costs(clone, repeats)
        records = recording.measure(clone, repeats)
        figures["exp show"], figures["compare"] = experiments.measure(clone, max(repeats, 5), timed)
        figures |= fashion_cnn(clone)
        return figures, costs, records


def fashion_cnn(clone: Path) -> dict[str, float]:
    """The LeNet-style conv net on Fashion-MNIST, as the README runs it: its train time and test accuracy."""
    timed(["dvc", "exp", "run", "-S", "run=[fashion_cnn]"], clone)
    timings = json.loads((clone / "runs" / "fashion_cnn.json").read_text())
    scores = json.loads((clone / "metrics" / "fashion_cnn.json").read_text())
    return {"fashion_cnn seconds": timings["train_seconds"], "fashion_cnn accuracy": scores["accuracy"]}

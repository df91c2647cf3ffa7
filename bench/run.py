"""tinynets benchmark (`make bench`): the seeds' training loops and scripts against tinynets, in one run.

Prints one table, figure by figure (medians of several runs), and writes it to bench/out/results.md.
The pipeline figures use a clone of the committed project (HEAD), so commit what you want measured.
"""

from __future__ import annotations

import platform
from pathlib import Path

import experiments
import loops  # bench/ is on sys.path: `python bench/run.py` runs from there
import pipeline
import searches
import torch

REPEATS = 5  # the training loops: seconds each
PIPELINE_REPEATS = 3  # whole pipelines: a minute each
ROOT = Path(__file__).resolve().parents[1]


def stage_row(cost: pipeline.StageCost) -> tuple[str, str]:
    return (
        f"stage {cost.name}: wall / own work / overhead beyond its imports / peak RSS",
        f"{cost.wall_s:.2f} s / {cost.work_s:.2f} s / {cost.excess_s:+.2f} s / {cost.peak_rss_mb:.0f} MB",
    )


def main() -> None:
    rows = loops.measure(REPEATS)
    figures, costs, records = pipeline.measure(PIPELINE_REPEATS)
    iris_stage = next(cost for cost in costs if cost.name == "train@iris")
    show, compare = figures["exp show"], figures["compare"]
    rows += [
        ("full dvc repro from clean", f"{figures['clean repro']:.1f} s"),
        ("the seeds' scripts, one after another", f"{figures['seed scripts']:.1f} s"),
        ("repro / seeds' scripts", f"{figures['clean repro'] / figures['seed scripts']:.2f}x"),
        ("iris: train stage wall / seed 000 script", f"{iris_stage.wall_s:.1f} s / {figures['seed 000']:.1f} s"),
        ("no-op dvc repro", f"{figures['no-op repro']:.2f} s"),
        (
            f"{experiments.COUNT} experiments: dvc exp show --json / tinynets compare iris",
            f"{show:.2f} s / {compare:.2f} s ({compare - show:+.2f} s)",
        ),
        ("largest stage overhead beyond its imports", f"{max(cost.excess_s for cost in costs):+.2f} s"),
        ("largest peak RSS of a stage", f"{max(cost.peak_rss_mb for cost in costs):.0f} MB"),
        (
            "fashion_cnn: train time (10 epochs, 60k images) / test accuracy",
            f"{figures['fashion_cnn seconds']:.0f} s / {figures['fashion_cnn accuracy']:.4f}",
        ),
    ]
    rows += [
        (
            f"{name}: training without / with its learning records (the recording's own time)",
            f"{plain:.2f} s / {recorded:.2f} s ({spent:.3f} s, {spent / plain:.1%})",
        )
        for name, (plain, recorded, spent) in records.items()
    ]
    rows += searches.measure()
    rows += [stage_row(cost) for cost in costs]
    table = "| figure | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "results.md").write_text(table)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"medians of {REPEATS} (loops) and {PIPELINE_REPEATS} (pipelines)\n")
    print(table)


if __name__ == "__main__":
    main()

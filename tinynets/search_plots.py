"""The figures of a dataset's last search (its summary, search/<dataset>.json): the optimization history, the
metric against each searched param, and each param's importance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from tinynets.plots import plt, save
from tinynets.report import without_dataset

FIGURES = ("search_history.png", "search_params.png", "search_importance.png")


def completed(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The trials that ran to their end, in order."""
    return [trial for trial in summary["trials"] if trial["state"] == "complete"]


def history(summary: dict[str, Any], path: Path) -> None:
    """Each completed trial's metric by trial number, the best so far as a step line; the pruned and failed
    counted in the legend."""
    figure, axes = plt.subplots(figsize=(6, 4))
    figure.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.9)
    done = completed(summary)
    numbers = np.array([trial["number"] for trial in done])
    values = np.array([trial["value"] for trial in done], dtype=float)
    label = f"valid {summary['metric']}"
    if done:
        best = (np.maximum if summary["direction"] == "maximize" else np.minimum).accumulate(values)
        axes.plot(numbers, values, "o", alpha=0.7, label=f"{label} ({len(done)} completed)")
        axes.step(numbers, best, where="post", color="C3", label="best so far")
    others = {state: sum(trial["state"] == state for trial in summary["trials"]) for state in ("pruned", "fail")}
    for state, count in others.items():
        if count:
            axes.plot([], [], " ", label=f"{count} {'failed' if state == 'fail' else state}")
    axes.set(xlabel="trial", ylabel=label, title=f"{summary['dataset']}: {summary['sampler']} search")
    axes.grid(alpha=0.3)
    axes.legend()
    save(figure, path)


def against_params(summary: dict[str, Any], path: Path) -> None:
    """The metric against each searched param, one panel each, coloured by trial number (where the sampler went
    later); a log axis for a log-uniform param."""
    space = summary["space"]
    figure, panels = plt.subplots(
        1, len(space), figsize=(4 * len(space) + 1, 3.8), squeeze=False, sharey=True, layout="constrained"
    )
    done = completed(summary)
    numbers = [trial["number"] for trial in done]
    values = [trial["value"] for trial in done]
    last = max([trial["number"] for trial in summary["trials"]], default=0)
    for axes, (param, distribution) in zip(panels[0], space.items(), strict=True):
        chosen = [trial["params"][param] for trial in done]
        if distribution["type"] == "choice":
            ticks = [str(value) for value in distribution["values"]]
            chosen = [ticks.index(str(value)) for value in chosen]
            axes.set_xticks(range(len(ticks)), ticks)
        elif distribution["type"] == "log_uniform":
            axes.set_xscale("log")
            axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.01, 0.02, 0.05, 0.1, ...
            axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.xaxis.set_minor_formatter(NullFormatter())
        dots = axes.scatter(chosen, values, c=numbers, cmap="viridis", vmin=0, vmax=max(last, 1), alpha=0.8)
        axes.set_xlabel(without_dataset(param))
        axes.grid(alpha=0.3)
    panels[0][0].set_ylabel(f"valid {summary['metric']}")
    figure.colorbar(dots, ax=panels[0].tolist(), label="trial")
    figure.suptitle(f"{summary['dataset']}: the metric against each searched param")
    save(figure, path)


def importance(summary: dict[str, Any], path: Path) -> None:
    """Each param's share of the metric's variance (Optuna's fANOVA), largest on top."""
    figure, axes = plt.subplots(figsize=(6, 1.2 + 0.5 * len(summary["space"])))
    shares = sorted(summary["importance"].items(), key=lambda item: item[1])
    if shares:
        axes.barh([without_dataset(param) for param, _ in shares], [share for _, share in shares], color="C0")
        axes.set_xlim(0, 1)
        axes.set_xlabel("importance (fANOVA: share of the metric's variance)")
    else:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "needs two completed trials", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(f"{summary['dataset']}: which searched param mattered")
    save(figure, path, tight=True)


def draw_search(summary: dict[str, Any], folder: Path) -> None:
    """The three figures of a search into `folder` (FIGURES)."""
    history(summary, folder / FIGURES[0])
    against_params(summary, folder / FIGURES[1])
    importance(summary, folder / FIGURES[2])

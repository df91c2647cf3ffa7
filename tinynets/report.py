"""The run's closing report: the data `dvc plots show` renders and one summary table (the page: html_report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinynets import measures
from tinynets.common import files, paths

BASELINES = ("linear", "trivial")  # the summary's columns; a forecast's trivial baseline is the naive one
BASELINE_ORDER = ("linear", "trivial", "naive", "seasonal_naive")  # a dataset's own table


def plot_rows(predictions: dict[str, np.ndarray]) -> dict[str, list[dict[str, Any]]]:
    """The rows DVC's templates read, by plot folder: confusion (class names), predicted, roc, pr."""
    actual, predicted = predictions["y_true"], predictions["y_pred"]
    if "classes" not in predictions:
        pairs = zip(actual.ravel().tolist(), predicted.ravel().tolist(), strict=True)
        return {"predicted": [{"actual": a, "predicted": p} for a, p in pairs]}
    names = predictions["classes"]
    pairs = zip(names[actual].tolist(), names[predicted].tolist(), strict=True)
    rows = {"confusion": [{"actual": a, "predicted": p} for a, p in pairs]}
    if "roc_fpr" in predictions:
        points = zip(predictions["roc_fpr"].tolist(), predictions["roc_tpr"].tolist(), strict=True)
        rows["roc"] = [{"fpr": fpr, "tpr": tpr} for fpr, tpr in points]
        points = zip(predictions["pr_recall"].tolist(), predictions["pr_precision"].tolist(), strict=True)
        rows["pr"] = [{"recall": recall, "precision": precision} for recall, precision in points]
    return rows


def headline(scores: dict[str, Any]) -> str:
    """The metrics a reader looks at first; mean ± std over the seeds when train.repeats trained several."""
    if "skipped" in scores:
        return "skipped"
    spread = scores.get("spread")
    if spread:
        shown = [measures.METRICS[name] for name in measures.spread_of("accuracy" in scores) if name != "loss"]
        figures = ", ".join(f"{metric.label} {_spread(spread[metric.name], metric.form)}" for metric in shown)
        return f"{figures} ({len(scores['seeds'])} seeds)"
    shown = measures.headline_of(measures.task_of_scores(scores))
    return ", ".join(f"{metric.label} {scores[metric.name]:{metric.form}}" for metric in shown)


def _spread(spread: dict[str, float], form: str) -> str:
    return f"{spread['mean']:{form}} ± {spread['std']:{form}}"


def baseline(scores: dict[str, Any], kind: str) -> dict[str, Any]:
    """One baseline's block ({'skipped': why} when there is none); a forecast's trivial baseline is the naive one."""
    block = scores.get("baseline", {})
    if kind == "trivial" and "forecast" in scores:
        kind = "naive"
    return block.get(kind, {"skipped": block.get("skipped", "not computed")})


def summary_table(run: list[str], all_scores: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: each dataset's headline metrics beside its baselines', device and data source."""
    lines = [
        "| dataset | net (test split) | linear baseline | trivial baseline | device | data |",
        "|---|---|---|---|---|---|",
    ]
    for name in run:
        scores = all_scores[name]
        baselines = " | ".join(headline(baseline(scores, kind)) for kind in BASELINES)
        lines.append(f"| {name} | {headline(scores)} | {baselines} | {scores['device']} | {scores['source']} |")
    return "\n".join(lines) + "\n"


def without_dataset(path: str) -> str:
    """A searched param's name without its dataset: `train.lr` for `datasets.iris.train.lr`."""
    return path.split(".", 2)[-1] if path.startswith("datasets.") else path


def read_search_summary(name: str) -> dict[str, Any] | None:
    """Dataset `name`'s search summary (search/<name>.json), checked; None when it has none. One that this version
    cannot read is refused in one line, not drawn wrong."""
    path = paths.of(name).search_summary
    if not path.exists():
        return None
    from tinynets.search_summary import check_summary  # pydantic and the schema, only where a search has run

    return check_summary(path, name, path.read_bytes())


def search_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A search's table: the header, then one row per trial, the best first and the unfinished last."""
    params = list(summary["space"])
    sign = -1 if summary["direction"] == "maximize" else 1
    trials = sorted(
        summary["trials"], key=lambda trial: (trial["value"] is None, sign * (trial["value"] or 0), trial["number"])
    )
    header = ["trial", "experiment", *map(without_dataset, params), f"valid {summary['metric']}"]
    rows = [
        [
            trial["number"],
            trial["experiment"] + (" (best)" if trial["number"] == summary["best"] else ""),
            *(trial["params"].get(path, "") for path in params),
            trial["value"] if trial["value"] is not None else trial["state"].replace("fail", "failed"),
        ]
        for trial in trials
    ]
    return header, rows


def search_table(summary: dict[str, Any]) -> str:
    """A search's trials as a Markdown section of the summary."""
    header, rows = search_rows(summary)
    cells = [[f"{cell:.4g}" if isinstance(cell, float) else str(cell) for cell in row] for row in rows]
    lines = [
        f"\n## Search of {summary['dataset']}: {len(rows)} trials ({summary['sampler']}, valid {summary['metric']})\n",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]
    return "\n".join(lines) + "\n"


def write_report(
    run: list[str], all_scores: dict[str, dict[str, Any]], searches: dict[str, dict[str, Any]], folder: Path
) -> str:
    """Write the DVC plot data and summary.md (the datasets' table, then each search's) into `folder`; return the
    summary."""
    for name in run:
        for kind, rows in plot_rows(files.read_arrays(paths.of(name).predictions)).items():
            files.write_json(folder / kind / f"{name}.json", rows)
    table = summary_table(run, all_scores) + "".join(search_table(searches[name]) for name in searches)
    (folder / "summary.md").write_text(table)
    return table

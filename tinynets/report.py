"""The run's closing report: the data `dvc plots show` renders and one summary table (the page: html_report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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
        seeds = f"({len(scores['seeds'])} seeds)"
        if "accuracy" in scores:
            return (
                f"accuracy {_spread(spread['accuracy'], '.4f')}, macro F1 {_spread(spread['f1_macro'], '.4f')} {seeds}"
            )
        return f"MAE {_spread(spread['mae'], '.4g')}, R² {_spread(spread['r2'], '.4f')} {seeds}"
    if "accuracy" in scores:
        return f"accuracy {scores['accuracy']:.4f}, macro F1 {scores['f1_macro']:.4f}"
    if "mase" in scores:  # a forecast (whose train period changed at all)
        return f"MAE {scores['mae']:.4g}, MASE {scores['mase']:.3f}"
    return f"MAE {scores['mae']:.4g}, R² {scores['r2']:.4f}"


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


def write_report(run: list[str], all_scores: dict[str, dict[str, Any]], folder: Path) -> str:
    """Write the DVC plot data and summary.md into `folder`; return the summary table."""
    for name in run:
        for kind, rows in plot_rows(files.read_arrays(paths.of(name).predictions)).items():
            files.write_json(folder / kind / f"{name}.json", rows)
    table = summary_table(run, all_scores)
    (folder / "summary.md").write_text(table)
    return table

"""The run's closing report: the data `dvc plots show` renders, and one summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinynets import artifacts
from tinynets.params import Params


def plot_rows(predictions: dict[str, np.ndarray], is_classifier: bool) -> list[dict[str, Any]]:
    """One {actual, predicted} row per test sample, the shape DVC's confusion and scatter templates read."""
    actual, predicted = predictions["y_true"], predictions["y_pred"]
    if is_classifier:
        return [
            {"actual": int(a), "predicted": int(p)} for a, p in zip(actual.tolist(), predicted.tolist(), strict=True)
        ]
    return [
        {"actual": a, "predicted": p} for a, p in zip(actual.ravel().tolist(), predicted.ravel().tolist(), strict=True)
    ]


def headline(scores: dict[str, Any]) -> str:
    """The figures a reader looks at first."""
    if "accuracy" in scores:
        return f"accuracy {scores['accuracy']:.4f}, macro F1 {scores['f1_macro']:.4f}"
    return f"MAE {scores['mae']:.4g}, R² {scores['r2']:.4f}"


def summary_table(params: Params, all_scores: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: each dataset's headline metrics, device, data source, and where its plots are."""
    lines = [
        "| dataset | test metrics | device | data | plots |",
        "|---|---|---|---|---|",
    ]
    for name in params.run:
        scores = all_scores[name]
        lines.append(
            f"| {name} | {headline(scores)} | {scores['device']} | {scores['source']} | {artifacts.images(name)}/ |"
        )
    return "\n".join(lines) + "\n"


def write_report(params: Params, folder: Path) -> str:
    """Write the DVC plot data and summary.md into `folder`; return the table."""
    all_scores = {}
    for name in params.run:
        is_classifier = params.datasets[name].is_classifier
        all_scores[name] = artifacts.read_json(artifacts.model_metrics(name))
        rows = plot_rows(artifacts.read_arrays(artifacts.predictions(name)), is_classifier)
        artifacts.write_json(folder / ("confusion" if is_classifier else "predicted") / f"{name}.json", rows)
    table = summary_table(params, all_scores)
    (folder / "summary.md").write_text(table)
    return table

"""reports/index.html: one self-contained page per run (images inline, no script, nothing fetched)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from tinynets.blocks import described
from tinynets.common import paths
from tinynets.common.facts import network_figure_skipped
from tinynets.measures import METRICS, of_task, task_of
from tinynets.report import BASELINE_ORDER, BASELINES, baseline, headline, search_rows

FIGURES = {  # file in plots/images/<dataset>/ -> caption, in page order
    "loss.png": "Loss per epoch",
    "confusion_matrix.png": "Confusion matrix (test split)",
    "predicted_vs_actual.png": "Predicted against actual, and the residuals (test split)",
    "forecast.png": "Forecasts over the test period, beside the naive one",
    "roc.png": "ROC curve (test split)",
    "decision_regions.png": "Decision regions",
    "samples.png": "First test images",
    "training.gif": "The decision regions while it learns (train ●, test ✕)",
    "neurons.png": "What each hidden unit computes over the plane",
    "network.png": "The trained network: every weight",
    "first_layer.png": "What the first layer looks for",
    "mistakes.png": "Misclassified test images and the net's top 3 guesses",
    "dynamics.png": "Per layer while it learns: weight norm, gradient norm, dead units",
}
SEARCH_FIGURES = {  # tinynets search's figures, beside the others
    "search_history.png": "Each trial's validation metric, and the best so far",
    "search_params.png": "The validation metric against each searched param",
    "search_importance.png": "How much each searched param mattered (fANOVA)",
}
MEDIA_TYPES = {".png": "image/png", ".gif": "image/gif"}
MLP_KEYS = ("layers", "activation", "output_activation", "init")  # how a `layers` model is described
TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "loss")

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; } h2 { margin: 0 0 8px; } h3 { margin: 16px 0 6px; font-size: 15px; color: #57606a; }
section, .card { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { padding: 4px 12px 4px 0; text-align: left; vertical-align: top; border-bottom: 1px solid #eaeef2; }
th { font-weight: 600; color: #57606a; }
td.num { font-variant-numeric: tabular-nums; text-align: right; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 8px 24px; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { color: #57606a; font-size: 13px; }
img { max-width: 100%; border: 1px solid #eaeef2; }
.muted { color: #57606a; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _described(key: str, value: Any) -> str:
    if key == "batch_size" and value is None:
        return "full batch"
    if isinstance(value, dict):  # an optimizer: its name, then its options
        options = ", ".join(f"{option} {item}" for option, item in value.items() if option != "name")
        return f"{value['name']} ({options})" if options else value["name"]
    return str(value)


def _model_rows(model: dict[str, Any]) -> list[list[Any]]:
    if model.get("blocks") is None:
        return [[key, _described(key, model[key])] for key in MLP_KEYS]
    return [["blocks", " → ".join(described(block) for block in model["blocks"])], ["init", model["init"]]]


def _summary(run: list[str], all_scores: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name in run:
        scores = all_scores[name]
        link = f'<a href="#{escape(name)}">{escape(name)}</a>'
        baselines = [headline(baseline(scores, kind)) for kind in BASELINES]
        cells = [headline(scores), *baselines, scores["device"], scores["source"]]
        rows.append(f"<tr><td>{link}</td>" + "".join(_cell(value) for value in cells) + "</tr>")
    head = "".join(
        f"<th>{name}</th>" for name in ("dataset", "net", "linear baseline", "trivial baseline", "device", "data")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _metrics(scores: dict[str, Any]) -> str:
    keys = of_task(task_of("accuracy" in scores, "forecast" in scores))
    block = scores.get("baseline", {})
    kinds = [kind for kind in BASELINE_ORDER if "model" in block.get(kind, {})]
    rows = [
        [METRICS[key].label, scores[key], *(block[kind].get(key, "") for kind in kinds)]
        for key in keys
        if key in scores
    ]
    for step, mae in scores.get("mae_by_step", {}).items():
        rows.append([f"mae, step {step}", mae, *(block[kind]["mae_by_step"][step] for kind in kinds)])
    table = _table(["test metric", "net", *(f"{kind} baseline" for kind in kinds)], rows)
    notes = [f"{kind}: {block[kind]['model']}" for kind in kinds]
    if "skipped" in block:
        notes.append(f"baselines skipped: {block['skipped']}")
    return table + "".join(f'<p class="muted">{escape(note)}</p>' for note in notes)


def _per_class(scores: dict[str, Any]) -> str:
    if "per_class" not in scores:
        return ""
    rows = [[name, c["precision"], c["recall"], c["f1"], c["support"]] for name, c in scores["per_class"].items()]
    return "<h3>Per class</h3>" + _table(["class", "precision", "recall", "F1", "support"], rows)


def _figures(name: str, figures: dict[str, str]) -> str:
    folder = paths.of(name).images
    items = []
    for file, caption in figures.items():
        path = folder / file
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            alt = f"{name}: {caption.lower()}"
            items.append(
                f'<figure><img src="data:{MEDIA_TYPES[path.suffix]};base64,{data}" alt="{escape(alt)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    return f'<div class="figures">{"".join(items)}</div>'


def _search(name: str, summary: dict[str, Any] | None) -> str:
    if summary is None:
        return ""
    header, rows = search_rows(summary)
    how = f"{len(rows)} trials, {summary['sampler']} sampler, {summary['pruner']} pruner, study {summary['study']}"
    return (
        f"<h3>Search ({escape(how)})</h3>{_figures(name, SEARCH_FIGURES)}{_table(header, rows)}"
        '<p class="muted">Ranked on the validation split; <code>tinynets search --confirm-best</code> reruns the best '
        "with several seeds and <code>tinynets compare</code> weighs them.</p>"
    )


def _section(name: str, scores: dict[str, Any], model: dict[str, Any], search: dict[str, Any] | None) -> str:
    data_rows = [["source", scores["source"]], ["train rows", scores["n_train"]], ["test rows", scores["n_test"]]]
    if "classes" in scores:
        data_rows.append(["classes", ", ".join(scores["classes"])])
    model_rows = _model_rows(model["model"])
    train_rows = [[key, _described(key, model["train"][key])] for key in TRAIN_KEYS]
    train_rows += [["device", scores["device"]], ["seed", model["seed"]], ["processes", model["processes"]]]
    facts = "".join(
        f"<div><h3>{title}</h3>{_table(['', ''], rows)}</div>"
        for title, rows in (("Data", data_rows), ("Model", model_rows), ("Training", train_rows))
    )
    skipped = network_figure_skipped(model["model"].get("layers"))
    note = f'<p class="muted">No network drawing: {escape(skipped)}.</p>' if skipped else ""
    return (
        f'<section id="{escape(name)}"><h2>{escape(name)}</h2><div class="facts">{facts}</div>'
        f"<h3>Test metrics</h3>{_metrics(scores)}{_per_class(scores)}<h3>Plots</h3>{_figures(name, FIGURES)}{note}"
        f"{_search(name, search)}</section>"
    )


def write_page(
    path: Path,
    run: list[str],
    all_scores: dict[str, dict[str, Any]],
    models: dict[str, Any],
    searches: dict[str, dict[str, Any]],
) -> None:
    """Write the report page: the summary beside the baselines, then one section per dataset (with its last
    search's figures and trials, if any)."""
    sections = "".join(_section(name, all_scores[name], models[name], searches.get(name)) for name in run)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>tinynets report</title><style>{STYLE}</style></head><body><main>"
        '<h1>tinynets report</h1><p class="muted">Every dataset of the last <code>dvc repro</code>, scored on its '
        "test split beside a trivial and a linear model fitted on the same features (a forecast beside the naive ones "
        "too).</p>"
        f'<div class="card"><h2>Summary</h2>{_summary(run, all_scores)}</div>{sections}</main></body></html>\n'
    )
    path.write_text(page)

"""The metrics tinynets scores, ranks and searches on, each declared once: its name in metrics JSON, which way is
better, the label pages show, and the tasks it applies to. evaluation/metrics.py computes them; compare, search,
validate's checks and both reports read them here."""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFIER, REGRESSOR, FORECAST = "classifier", "regressor", "forecast"


@dataclass(frozen=True)
class Metric:
    """One metric: `higher` is better when True; `tasks` it is scored for; `label` as a page shows it."""

    name: str
    label: str
    higher: bool
    tasks: tuple[str, ...]


METRICS = {
    metric.name: metric
    for metric in (
        Metric("accuracy", "accuracy", True, (CLASSIFIER,)),
        Metric("balanced_accuracy", "balanced accuracy", True, (CLASSIFIER,)),
        Metric("precision_macro", "macro precision", True, (CLASSIFIER,)),
        Metric("recall_macro", "macro recall", True, (CLASSIFIER,)),
        Metric("f1_macro", "macro F1", True, (CLASSIFIER,)),
        Metric("roc_auc", "ROC AUC", True, (CLASSIFIER,)),  # two classes only
        Metric("mae", "MAE", False, (REGRESSOR, FORECAST)),
        Metric("mse", "MSE", False, (REGRESSOR, FORECAST)),
        Metric("rmse", "RMSE", False, (FORECAST,)),
        Metric("mase", "MASE", False, (FORECAST,)),
        Metric("r2", "R²", True, (REGRESSOR, FORECAST)),
        Metric("loss", "loss", False, (CLASSIFIER, REGRESSOR, FORECAST)),
    )
}


def task_of(classifier: bool, forecast: bool) -> str:
    """A dataset's task, as the registry names it."""
    return CLASSIFIER if classifier else FORECAST if forecast else REGRESSOR


def of_task(task: str) -> list[str]:
    """The metrics scored for `task`, in the registry's order."""
    return [name for name, metric in METRICS.items() if task in metric.tasks]

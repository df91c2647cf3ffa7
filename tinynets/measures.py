"""The metrics tinynets scores, ranks and searches on, each declared once: its name in metrics JSON, which way is
better, the label pages show, and the tasks it applies to. evaluation/metrics.py computes them; compare, search,
validate's checks and both reports read them here."""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFIER, REGRESSOR, FORECAST = "classifier", "regressor", "forecast"


@dataclass(frozen=True)
class Metric:
    """One metric: `higher` is better when True; `tasks` it is scored for; `label` and `form` (a format spec) as a
    report shows it; `headline`: the tasks whose headline shows it, first in the report, printed by evaluate."""

    name: str
    label: str
    higher: bool
    tasks: tuple[str, ...]
    form: str = ".4f"
    headline: tuple[str, ...] = ()


METRICS = {
    metric.name: metric
    for metric in (
        Metric("accuracy", "accuracy", True, (CLASSIFIER,), headline=(CLASSIFIER,)),
        Metric("balanced_accuracy", "balanced accuracy", True, (CLASSIFIER,)),
        Metric("precision_macro", "macro precision", True, (CLASSIFIER,)),
        Metric("recall_macro", "macro recall", True, (CLASSIFIER,)),
        Metric("f1_macro", "macro F1", True, (CLASSIFIER,), headline=(CLASSIFIER,)),
        Metric("roc_auc", "ROC AUC", True, (CLASSIFIER,)),  # two classes only
        Metric("mae", "MAE", False, (REGRESSOR, FORECAST), ".4g", headline=(REGRESSOR, FORECAST)),
        Metric("mse", "MSE", False, (REGRESSOR, FORECAST), ".4g"),
        Metric("rmse", "RMSE", False, (FORECAST,), ".4g"),
        Metric("mase", "MASE", False, (FORECAST,), ".3f", headline=(FORECAST,)),
        Metric("r2", "R²", True, (REGRESSOR, FORECAST), headline=(REGRESSOR,)),
        Metric("loss", "loss", False, (CLASSIFIER, REGRESSOR, FORECAST)),
    )
}


def task_of(classifier: bool, forecast: bool) -> str:
    """A dataset's task, as the registry names it."""
    return CLASSIFIER if classifier else FORECAST if forecast else REGRESSOR


def of_task(task: str) -> list[str]:
    """The metrics scored for `task`, in the registry's order."""
    return [name for name, metric in METRICS.items() if task in metric.tasks]


def task_of_scores(scores: dict) -> str:
    """The task a dataset's metrics JSON was scored as."""
    return task_of("accuracy" in scores, "mase" in scores)


def headline_of(task: str) -> list[Metric]:
    """The metrics a reader looks at first for `task`, in the registry's order; the first is what compare ranks
    on by default."""
    return [metric for metric in METRICS.values() if task in metric.headline]


def spread_of(classifier: bool) -> list[str]:
    """The metrics whose spread over the seeds of train.repeats metrics JSON keeps, and the report shows: a
    classifier's or a regressor's headline, and the loss. A forecast keeps a regressor's (MAE and R²), though
    its headline without repeats shows MAE and MASE."""
    return [metric.name for metric in headline_of(task_of(classifier, False))] + ["loss"]

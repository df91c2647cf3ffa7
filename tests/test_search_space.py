"""A search's values as `dvc exp run -S` reads them, and the values a space is checked by."""

import pytest
import yaml

from tinynets.params import IntRange, Uniform
from tinynets.search import bounds, override


@pytest.mark.parametrize(
    "value", [0.01, 1e-05, 3, True, None, "relu", "dé", [4, 16, 3], {"name": "adam", "betas": [0.9, 0.99]}]
)
def test_every_value_reaches_params_yaml_as_it_was_drawn(tmp_path, value):
    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"iris": {"key": "before"}}}))
    apply_overrides(params, [override("datasets.iris.key", value)])
    written = yaml.safe_load(params.read_text())["datasets"]["iris"]["key"]
    assert (float(written) if isinstance(value, float) else written) == value  # PyYAML reads 1e-05 as text


def test_a_float_range_is_checked_in_its_middle_too_an_int_range_at_its_ends():
    assert bounds(Uniform(type="uniform", low=10, high=21)) == [10, 21, 15.5]  # an integer param refuses 15.5
    assert bounds(IntRange(type="int", low=2, high=8)) == [2, 8]


def test_a_maximizing_study_hears_the_validation_loss_negated_and_another_dataset_reports_nothing(monkeypatch):
    import json
    from types import SimpleNamespace

    import optuna
    import torch

    from tinynets.training.pruning import ENVIRONMENT, Reporter, reporter

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    run = SimpleNamespace(epoch=20, watched=1, history=torch.tensor([[0.9, 0.5]] * 20))  # train, valid columns
    Reporter("iris", 400, trial, sign=-1.0)(run)
    assert study.trials[0].intermediate_values == {20: -0.5}
    spec = {"storage": "sqlite://", "study": "x", "trial": 0, "pruner": "median", "dataset": "mnist"}
    monkeypatch.setenv(ENVIRONMENT, json.dumps(spec | {"direction": "maximize"}))
    assert reporter("iris", 400) is None  # mnist's trial: iris's train stage, rerun inside it, says nothing


def test_a_study_outlives_commits_of_its_search_block_and_summary_but_not_of_what_trials_compute(tmp_path):
    import subprocess

    from tinynets.search import trials_code

    def commit(params: dict, summary: str = "") -> str:
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        if summary:
            (tmp_path / "search").mkdir(exist_ok=True)
            (tmp_path / "search/iris.json").write_text(summary)
        for command in (["add", "-A"], ["commit", "-qm", "a change"]):
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=tmp_path, check=True)
        return trials_code(tmp_path)

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    params = {"datasets": {"iris": {"train": {"lr": 0.5}}}, "search": {"iris": {"trials": 10}}}
    first = commit(params)
    assert commit(params | {"search": {"iris": {"trials": 12}}}, summary="{}") == first  # more trials, a summary
    assert commit(params | {"datasets": {"iris": {"train": {"lr": 0.4}}}}) != first  # what a trial computes from


def test_the_plot_and_report_stages_start_without_pydantic_where_no_search_has_run():
    import subprocess
    import sys

    from conftest import ROOT

    statement = "import stages.plot, stages.report, sys; print('pydantic' in sys.modules)"
    started = subprocess.run([sys.executable, "-c", statement], cwd=ROOT, capture_output=True, text=True, check=True)
    assert started.stdout.strip() == "False"  # the summary's schema is imported only to read a summary

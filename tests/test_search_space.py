"""A search's values as `dvc exp run -S` reads them, and the values a space is checked by."""

from types import SimpleNamespace

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


def test_the_plot_and_report_stages_start_without_pydantic_where_no_search_has_run():
    import subprocess
    import sys

    from conftest import ROOT

    statement = "import stages.plot, stages.report, sys; print('pydantic' in sys.modules)"
    started = subprocess.run([sys.executable, "-c", statement], cwd=ROOT, capture_output=True, text=True, check=True)
    assert started.stdout.strip() == "False"  # the summary's schema is imported only to read a summary


# What a search asks, how it is scored and where its study lives, in-process: no trial is trained here.

LR, HIDDEN = "datasets.iris.train.lr", "datasets.iris.model.layers.1"
SPACE = {LR: {"type": "log_uniform", "low": 0.01, "high": 1.0}, HIDDEN: {"type": "int", "low": 2, "high": 32}}


def config(**block):
    from tinynets.params import SearchConfig

    return SearchConfig.model_validate({"space": SPACE, **block})


def ask_and_tell(study, search, count: int, objective) -> None:
    """`count` trials as tinynets search asks them (its suggest), each told its objective's value."""
    from tinynets.search import suggest

    for _ in range(count):
        trial = study.ask()
        values = {path: suggest(trial, path, d) for path, d in search.space.items()}
        study.tell(trial, objective(values))


def loss(values: dict) -> float:
    """A made-up validation loss, lowest at lr 0.1 and 12 hidden units."""
    import math

    return (math.log10(values[LR]) + 1) ** 2 + ((values[HIDDEN] - 12) / 10) ** 2


@pytest.mark.parametrize("kind", ["random", "tpe"])
def test_a_resumed_search_asks_what_an_uninterrupted_one_would_and_never_an_earlier_point(kind):
    import optuna

    from tinynets.studies import sampler

    search = config(sampler=kind, n_startup_trials=3)
    whole = optuna.create_study(sampler=sampler(search, 1))
    ask_and_tell(whole, search, 8, loss)
    storage = optuna.storages.InMemoryStorage()
    first = optuna.create_study(study_name="s", storage=storage, sampler=sampler(search, 1))
    ask_and_tell(first, search, 4, loss)
    resumed = optuna.load_study(study_name="s", storage=storage, sampler=sampler(search, 1))  # a new process
    ask_and_tell(resumed, search, 4, loss)
    points = [trial.params for trial in resumed.trials]
    assert points == [trial.params for trial in whole.trials]
    assert all(point not in points[:index] for index, point in enumerate(points))


@pytest.mark.parametrize("kind", ["random", "tpe"])
def test_a_space_of_ints_is_asked_every_point_once_though_tpe_keeps_proposing_its_best(kind):
    import optuna

    from tinynets.search import ask_point
    from tinynets.studies import sampler

    search = config(sampler=kind)
    search.space.pop(LR)  # hidden units alone: 31 points
    study = optuna.create_study(sampler=sampler(search, 1))
    asked = []
    while got := ask_point(study, search, "iris"):
        trial, values = got
        trial.set_user_attr("experiment", f"iris-{trial.number}")  # as the search marks a trial it ran
        study.tell(trial, (values[HIDDEN] - 12) ** 2)
        asked.append(values[HIDDEN])
    assert sorted(asked) == list(range(2, 33))


def test_a_datasets_studies_are_its_own_not_those_of_a_dataset_named_alike():
    from tinynets.studies import of_dataset

    assert of_dataset("sunspots-3f9a2c", "sunspots")
    assert not of_dataset("sunspots-long-3f9a2c", "sunspots") and not of_dataset("sunspots-3f9a2c-x", "sunspots")


def test_two_processes_on_one_study_never_ask_the_same_point():
    import optuna

    from tinynets.search import suggest
    from tinynets.studies import sampler

    search = config(sampler="random")
    storage = optuna.storages.InMemoryStorage()
    machines = [optuna.create_study(study_name="s", storage=storage, sampler=sampler(search, 2), load_if_exists=True)]
    machines.append(optuna.load_study(study_name="s", storage=storage, sampler=sampler(search, 2)))
    for _ in range(6):  # each asks one, then both tell: their trials run at once
        asked = [(machine, machine.ask()) for machine in machines]
        for machine, trial in asked:
            machine.tell(trial, loss({path: suggest(trial, path, d) for path, d in search.space.items()}))
    points = [tuple(trial.params.values()) for trial in machines[0].trials]
    assert len(points) == 12 and len(set(points)) == 12


def test_a_grid_point_cut_short_is_asked_again_so_the_grid_has_no_hole_and_no_duplicate():
    import optuna
    from optuna.trial import TrialState

    from tinynets.search import suggest, told
    from tinynets.studies import ask_again, sampler

    search = config(sampler="grid", space={HIDDEN: {"type": "int", "low": 2, "high": 5}})
    study = optuna.create_study(sampler=sampler(search, 1))
    cut = study.ask()
    suggest(cut, HIDDEN, search.space[HIDDEN])
    told(study, cut, None, TrialState.FAIL)  # Ctrl-C mid-trial: told as failed, then asked again
    ask_again(study, cut)
    for _ in range(4):
        trial = study.ask()
        told(study, trial, float(suggest(trial, HIDDEN, search.space[HIDDEN])), TrialState.COMPLETE)
    tried = sorted(trial.params[HIDDEN] for trial in study.trials if trial.state == TrialState.COMPLETE)
    assert tried == [2, 3, 4, 5]


def test_tpe_is_configured_as_the_block_says_and_lies_constantly_with_several_workers():
    from tinynets.studies import make_sampler

    one = make_sampler(config(n_startup_trials=7, multivariate=False), workers=1, seed=1)
    assert (one._n_startup_trials, one._multivariate, one._constant_liar) == (7, False, False)
    assert make_sampler(config(), workers=2, seed=1)._constant_liar
    assert not make_sampler(config(constant_liar=False), workers=2, seed=1)._constant_liar
    assert config().n_startup_trials < 10 and config().multivariate  # a 20-trial search is mostly TPE's


def test_a_pruned_trial_of_a_maximizing_study_records_its_metric_in_its_own_sign():
    from types import SimpleNamespace

    import optuna
    from optuna.trial import TrialState

    from tinynets.training.pruning import Pruned, Reporter

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.8))
    trial = study.ask()
    reporter = Reporter("iris", "accuracy", trial, every=10, measure=lambda run: 0.73)
    reporter(SimpleNamespace(epoch=5))  # not a reporting epoch
    with pytest.raises(Pruned, match=r"^iris: pruned at epoch 10 \(validation accuracy 0\.73 behind the others'\)"):
        reporter(SimpleNamespace(epoch=10))
    study.tell(trial, state=TrialState.PRUNED)
    assert study.trials[0].value == 0.73


def test_a_trials_metric_mid_training_is_the_one_evaluate_writes(tmp_path):
    import numpy as np
    import torch

    from tinynets.common import contracts
    from tinynets.evaluation.scoring import headline_metrics
    from tinynets.training.pruning import measure

    info = dict.fromkeys(contracts.FEATURE_INFO.required) | {"classes": ["a", "b", "c"]}
    contracts.write(contracts.FEATURE_INFO, tmp_path / "info.json", info)
    generator = torch.Generator().manual_seed(0)
    x, model = torch.randn(40, 4, generator=generator), torch.nn.Linear(4, 3)
    y = np.arange(40) % 3
    measured = measure("accuracy", "cross_entropy", x, y, tmp_path / "info.json")(SimpleNamespace(model=model))
    expected = headline_metrics(y, model(x).detach().numpy(), "cross_entropy", info["classes"], info)["accuracy"]
    assert measured == pytest.approx(expected) and 0 <= measured <= 1


def test_searching_epochs_keeps_every_trial_reporting_at_the_same_epochs():
    from conftest import tiny_params

    from tinynets.rules import parse_params
    from tinynets.search import reporting_every

    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"] |= {"valid_size": 0.2, "epochs": 2000}
    epochs = {"datasets.iris.train.epochs": {"type": "int", "low": 300, "high": 3000, "step": 100}}
    params["search"] = {"iris": {"space": SPACE | epochs}}
    parsed = parse_params(params)
    assert reporting_every(parsed.search["iris"], "iris", parsed) == 15  # a twentieth of the fewest epochs
    params["search"] = {"iris": {"space": SPACE}}
    parsed = parse_params(params)
    assert reporting_every(parsed.search["iris"], "iris", parsed) == 100


def test_a_scaler_is_searchable_as_it_leaves_the_validation_rows_and_the_metrics_units_alone():
    from conftest import tiny_params

    from tinynets.rules import parse_params

    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    scalers = {"datasets.iris.data.scaler": {"type": "choice", "values": ["standard", "none"]}}
    params["search"] = {"iris": {"space": scalers}}
    assert list(parse_params(params).search["iris"].space) == ["datasets.iris.data.scaler"]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"metric": "mae"}, "search.iris.metric: the dataset writes no validation mae (it writes accuracy"),
        (
            {"space": {"datasets.iris.train.valid_size": {"type": "uniform", "low": 0.1, "high": 0.3}}},
            "search.iris.space.datasets.iris.train.valid_size: changes what trials are scored on",
        ),
        (
            {"space": {"datasets.iris.data.split.test_size": {"type": "uniform", "low": 0.1, "high": 0.3}}},
            "search.iris.space.datasets.iris.data.split.test_size: changes what trials are scored on",
        ),
        (
            {"space": {"datasets.iris.train.loss": {"type": "choice", "values": ["cross_entropy", "nll"]}}},
            "search.iris.space.datasets.iris.train.loss: changes what trials are scored on",
        ),
        (
            {"space": {"datasets.iris.data.target_scaler": {"type": "choice", "values": ["none", "standard"]}}},
            "search.iris.space.datasets.iris.data.target_scaler: changes what trials are scored on",
        ),
        (
            {"space": {"datasets.iris.train.seed": {"type": "int", "low": 0, "high": 9}}},
            "search.iris.space.datasets.iris.train.seed: would choose on seed noise",
        ),
        (
            {"space": {LR: {"type": "choice", "values": [0.3, 0.1, 0.3]}}},  # TPE would spend itself on one point
            f"search.iris.space.{LR}.values: lists 0.3 twice",
        ),
        (
            {"space": {LR: {"type": "uniform", "low": 0.1, "high": float("inf")}}},  # YAML's .inf
            f"search.iris.space.{LR}.high: must be a finite number",
        ),
    ],
)
def test_a_search_that_would_score_trials_unalike_or_on_nothing_is_refused_in_one_line(block, expected):
    from conftest import tiny_params

    from tinynets.common.errors import ConfigError
    from tinynets.rules import parse_params

    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE} | block}
    with pytest.raises(ConfigError) as refused:
        parse_params(params)
    assert str(refused.value).startswith(f"params.yaml: {expected}") and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://bob:s3cret-pw@db.example/studies", "postgresql://bob:***@db.example/studies"),
        ("postgresql://bob:p%40ss%3Aword@db.example/studies", "postgresql://bob:***@db.example/studies"),
        ("postgresql://db.example/studies?user=bob&password=s3cret-pw", "password=***"),
    ],
)
def test_a_storage_password_is_never_shown(given, shown):
    from tinynets.studies import masked

    assert shown in masked(given)
    assert "s3cret" not in masked(given) and "p%40ss" not in masked(given) and "ss:word" not in masked(given)


def test_a_storage_comes_from_the_callers_directory_a_file_or_the_environment(tmp_path, monkeypatch):
    from tinynets.common.errors import DataError
    from tinynets.studies import STORAGE_VARIABLE, resolve_storage

    caller = tmp_path / "my notes"
    caller.mkdir()
    monkeypatch.delenv(STORAGE_VARIABLE, raising=False)
    assert resolve_storage(tmp_path, "iris", "sqlite:///study.db", caller).url == f"sqlite:///{caller}/study.db"
    assert resolve_storage(tmp_path, "iris", "sqlite:////abs/study.db", caller).url == "sqlite:////abs/study.db"
    (caller / "url").write_text("postgresql://bob:s3cret-pw@db.example/studies\n")
    from_file = resolve_storage(tmp_path, "iris", "@url", caller)
    assert from_file.url.endswith("s3cret-pw@db.example/studies") and "s3cret" not in from_file.shown
    monkeypatch.setenv(STORAGE_VARIABLE, "journal:studies.log")
    assert resolve_storage(tmp_path, "iris", None, caller).url == f"journal:{caller}/studies.log"
    monkeypatch.delenv(STORAGE_VARIABLE)
    own = resolve_storage(tmp_path, "iris", None, caller)
    assert own.own and own.url == f"journal:{tmp_path}/search/journals/iris.journal"
    named = resolve_storage(tmp_path, "iris", "journal:../search/journals/iris.journal", caller)
    assert (named.url, named.own) == (own.url, True)  # the project's own journal, named
    assert not resolve_storage(tmp_path, "iris", "journal:iris.journal", tmp_path).own
    monkeypatch.setenv("HOME", str(caller))
    assert resolve_storage(tmp_path, "iris", "journal:~/s.log", tmp_path).url == f"journal:{caller}/s.log"
    with pytest.raises(DataError, match=r"^--storage: its password holds an @: write it as %40"):
        resolve_storage(tmp_path, "iris", "postgresql://bob:p@ss@db.example/studies", caller)
    with pytest.raises(DataError, match=r"^--storage @nothing: cannot read .*nothing \(No such file"):
        resolve_storage(tmp_path, "iris", "@nothing", caller)
    for memory in ("sqlite://", "sqlite:///"):  # each process would see a study of its own
        with pytest.raises(DataError, match=r": a database in memory keeps no study: name a file$"):
            resolve_storage(tmp_path, "iris", memory, caller)
    with pytest.raises(DataError, match=r"^--storage '': give a storage URL, or leave --storage out"):
        resolve_storage(tmp_path, "iris", "", caller)  # `--storage "$URL"`, URL unset


def test_a_second_search_of_a_dataset_in_one_project_is_refused_naming_the_first(tmp_path):
    import os

    from tinynets.common.errors import DataError
    from tinynets.search import one_search

    held = rf"^a search of iris runs in this project already \(pid {os.getpid()},"
    with one_search(tmp_path, "iris"):
        with pytest.raises(DataError, match=held), one_search(tmp_path, "iris"):
            pass
        with one_search(tmp_path, "circles"):  # another dataset's search: its own lock
            pass
    with one_search(tmp_path, "iris"):  # released
        pass


def test_a_failed_trials_line_says_its_cause_from_its_whole_log(tmp_path):
    from tinynets.search import failure

    log = tmp_path / "trial.log"
    log.write_text("Traceback (most recent call last):\n  File ...\nKeyError: 'hidden'\n")
    assert failure(log, 255) == "KeyError: 'hidden'"
    raised = "RuntimeError: value cannot be converted to type float without overflow"
    log.write_text(f"Traceback (most recent call last):\n{raised}\nERROR: failed to reproduce 'train@iris'\n")
    assert failure(log, 255) == raised  # the cause, not DVC's word that the stage failed
    log.write_text("ERROR: failed to reproduce 'train@iris': python -m stages.train iris, exited with -9\n")
    assert failure(log, 255).startswith("ERROR: failed to reproduce 'train@iris'")  # killed: no traceback
    log.write_text("iris: epoch 1\nerror: iris: training diverged at epoch 3\nERROR: failed to reproduce\n")
    assert failure(log, 255) == "error: iris: training diverged at epoch 3"
    log.write_text("")
    assert failure(log, 137) == "dvc exp run exited 137"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--trials", "-3"], "argument --trials: -3 is not 1 or more"),
        (["--workers", "0"], "argument --workers: 0 is not 1 or more"),
        (["--confirm-best", "-1"], "argument --confirm-best: -1 is not 1 or more"),
        (["--trials", "2.5"], "argument --trials: '2.5' is not a whole number"),
    ],
)
def test_a_count_on_the_command_line_is_a_whole_number_from_1(tmp_path, args, said):
    import subprocess

    from conftest import tool_env

    command = ["tinynets", "search", "iris", *args]
    done = subprocess.run(command, cwd=tmp_path, env=tool_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: tinynets search: {said} (see tinynets search --help)\n"


def test_a_study_outlives_commits_of_its_search_block_summary_notes_and_metrics_but_not_of_its_inputs(tmp_path):
    import subprocess

    import optuna

    from tinynets.params import SearchConfig
    from tinynets.studies import mark_new, mark_searched, study_inputs, why_new

    def commit(params: dict, written: dict[str, str] | None = None) -> dict:
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        for path, text in (written or {}).items():
            (tmp_path / path).write_text(text)
        for command in (["add", "-A"], ["commit", "-qm", "a change"]):
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=tmp_path, check=True)
        return study_inputs(tmp_path)

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for folder in ("search", "tinynets", "metrics"):
        (tmp_path / folder).mkdir()
    train = {"foreach": "${run}", "do": {"deps": ["tinynets", "settings/${item}/train.json"]}}
    evaluate = {"deps": ["tinynets"], "metrics": [{"metrics": {"cache": False}}]}  # committed to git
    stage = {"stages": {"train": train, "evaluate": evaluate, "plot": {"deps": ["search", "metrics", "tinynets"]}}}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(stage))
    params = {"datasets": {"iris": {"train": {"lr": 0.5}}}, "search": {"iris": {"trials": 10}}}
    first = commit(params, {"tinynets/models.py": "a net", "metrics/iris.json": '{"loss": 0.3}'})
    more = {"search/iris.json": "{}", "NOTES.md": "an idea", "metrics/iris.json": '{"loss": 0.2}'}
    kept = commit(params | {"search": {"iris": {"trials": 12}}}, more)
    assert kept == first  # more trials, a summary, a note, the metrics of a new run: the same study
    assert commit(params | {"datasets": {"iris": {"train": {"lr": 0.4}}}}) != first  # what a trial computes from
    changed = commit(params, {"tinynets/models.py": "another net"})
    search = SearchConfig.model_validate(
        {"space": {"datasets.iris.train.lr": {"type": "uniform", "low": 0, "high": 1}}}
    )
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="iris-0b1f0e", storage=storage)
    mark_new(study, first, search)
    wider = SearchConfig.model_validate({"space": {"datasets.iris.train.lr": {"type": "uniform", "low": 0, "high": 2}}})
    mark_new(optuna.create_study(study_name="iris-1c2d3e", storage=storage), first, wider)  # a newer study
    mark_searched(study)  # the first space again: its study resumed since
    said = why_new("iris", storage, changed, search)
    assert said == "tinynets/models.py changed since iris-0b1f0e (0 trials)"  # not "and the space"


def test_a_machine_that_would_call_trials_silent_sooner_than_the_study_says_is_refused():
    import optuna

    from tinynets.common.errors import ConfigError
    from tinynets.studies import check_grace, mark_new

    study = optuna.create_study(study_name="iris-0b1f0e")
    mark_new(study, {}, config(grace=60))
    check_grace(study, "iris", config(grace=60))
    with pytest.raises(ConfigError, match=r"^params.yaml: search.iris.grace: 6 here, but study iris-0b1f0e was made "):
        check_grace(study, "iris", config(grace=6))


def test_a_space_of_few_points_is_searched_once_each_and_a_float_range_has_no_end():
    from tinynets.search import most_trials

    few = {
        HIDDEN: {"type": "int", "low": 2, "high": 5},
        "datasets.iris.train.lr": {"type": "choice", "values": [0.1, 1]},
    }
    assert most_trials(config(space=few, sampler="tpe")) == 8
    assert most_trials(config()) == float("inf")


def test_a_trial_another_machine_failed_as_silent_is_not_failed_or_asked_again_twice():
    import optuna
    from optuna.trial import TrialState

    from tinynets.search import give_back

    study = optuna.create_study()
    trial = study.ask({HIDDEN: optuna.distributions.IntDistribution(2, 5)})
    give_back(study, trial)  # this search could not finish it: failed, its point queued
    give_back(study, trial)  # said again (the stop's clean-up after a worker's): nothing more
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
    assert study.trials[1].params == study.trials[0].params


def test_a_librarys_message_never_shows_the_storage_password_in_any_form():
    from tinynets.studies import scrub

    url = "postgresql://bob:p%40ss%3Aw0rd@db.example/studies"
    said = f"could not connect to {url} as bob with password p@ss:w0rd (p%40ss%3Aw0rd)"
    shown = scrub(said, url)
    assert "p@ss" not in shown and "p%40ss" not in shown and "postgresql://bob:***@db.example/studies" in shown


def test_a_search_of_a_dataset_out_of_run_is_refused_before_any_trial(tmp_path):
    from conftest import tiny_params

    from tinynets.common.errors import ConfigError
    from tinynets.rules import parse_params
    from tinynets.search import check_search

    params = tiny_params(["circles"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE}}
    with pytest.raises(ConfigError, match=r"^params.yaml: run: lacks iris, so no trial would train it: add it"):
        check_search(tmp_path, "iris", parse_params(params))


def test_a_stop_waits_for_each_worker_to_tell_its_trial_even_when_ctrl_c_cut_the_wait():
    import signal
    import threading
    import time

    from tinynets.search import TrialProcesses, on_threads, stop_threads

    told: list[str] = []

    def work(worker: int) -> None:
        time.sleep(1.0)  # a trial ending just as the stop comes: it is told before the stop cleans up
        told.append(f"worker {worker}")

    def interrupt(number, frame):
        raise KeyboardInterrupt

    returned: list[threading.Event] = []
    before = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            on_threads(work, 2, returned)
    finally:
        signal.signal(signal.SIGALRM, before)
    stop_threads(returned, threading.Event(), TrialProcesses())
    assert sorted(told) == ["worker 0", "worker 1"]


def test_a_confirmation_trains_on_seeds_after_every_seed_a_trial_trained_on():
    from conftest import ROOT
    from optuna.distributions import IntDistribution
    from optuna.trial import create_trial

    from tinynets.rules import parse_params
    from tinynets.search import fresh_seed

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["seed"], params["datasets"]["iris"]["train"]["repeats"] = 42, 1
    once = create_trial(value=0.1, params={}, distributions={})
    four = create_trial(
        value=0.2,
        params={"datasets.iris.train.repeats": 4},
        distributions={"datasets.iris.train.repeats": IntDistribution(1, 5)},
    )
    assert fresh_seed(parse_params(params), "iris", [once]) == 43  # seed 42 alone was trained on
    assert fresh_seed(parse_params(params), "iris", [once, four]) == 46  # 42-45
    params["datasets"]["iris"]["train"]["seed"] = 100
    assert fresh_seed(parse_params(params), "iris", [once, four]) == 104  # 100-103; the data's split stays


def test_an_option_is_taken_by_its_whole_name_only(tmp_path):
    import subprocess

    from conftest import tool_env

    command = ["tinynets", "search", "iris", "--confirm", "2"]  # once the option's name, now a prefix of it
    done = subprocess.run(command, cwd=tmp_path, env=tool_env(tmp_path), capture_output=True, text=True)
    assert (
        done.returncode == 2
        and done.stderr == "error: tinynets: unrecognized arguments: --confirm 2 (see tinynets --help)\n"
    )

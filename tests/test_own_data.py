"""A user's own CSV through the real dvc CLI: `dvc add`, params only, metrics in its label names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import RUN, built_once, ran_stages, result_hashes, run, tiny_params, write_params
from own_data import HOUSES_PARAMS, houses, write_csv

pytestmark = pytest.mark.slow


def add_houses(repo: Path) -> None:
    write_csv(repo / "data/own/houses.csv", houses())
    run(repo, "dvc", "add", "data/own/houses.csv")
    params = tiny_params(RUN)
    params["run"] = [*RUN, "houses"]
    params["datasets"]["houses"] = HOUSES_PARAMS
    write_params(repo, params)
    run(repo, "dvc", "repro")


@pytest.fixture
def with_houses(pristine_pipeline, tmp_path_factory) -> Path:
    """A private copy of the pipeline after a user added houses.csv with `dvc add` and ran it (made once)."""

    def build(repo: Path) -> None:
        shutil.copytree(pristine_pipeline, repo, symlinks=True)
        add_houses(repo)

    return built_once(tmp_path_factory, "houses", build)


def test_a_table_of_our_own_trains_speaks_its_labels_and_reruns_alone_when_edited(with_houses):
    scores = json.loads((with_houses / "metrics/houses.json").read_text())
    assert scores["classes"] == ["cheap", "expensive", "mid"]
    assert scores["accuracy"] > scores["baseline"]["trivial"]["accuracy"] + 0.2
    assert scores["n_train"] + scores["n_test"] < 400  # rows with a missing value were left out
    info = json.loads((with_houses / "data/features/houses.json").read_text())
    assert info["categories"] == [["fields", "harbour", "hills", "old town"]]  # one-hot, fitted on train
    status = run(with_houses, "git", "status", "--porcelain").stdout
    assert "data/own/houses.csv.dvc" in status and "data/own/houses.csv\n" not in status  # DVC keeps the data

    table = with_houses / "data/own/houses.csv"
    table.write_text("\n".join(table.read_text().splitlines()[:-20]) + "\n")  # the user edits the file
    ran = ran_stages(run(with_houses, "dvc", "repro").stdout)
    houses_stages = {f"{stage}@houses" for stage in ("prepare", "featurize", "train")}
    assert ran == houses_stages | {"validate", "evaluate", "plot", "report"}


def test_a_broken_edit_to_the_file_loses_nothing(with_houses):
    before = result_hashes(with_houses)
    table = with_houses / "data/own/houses.csv"
    lines = table.read_text().splitlines()
    lines[5] = "3,big,1990,hills,mid"
    table.write_text("\n".join(lines) + "\n")
    result = run(with_houses, "dvc", "repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: data/own/houses.csv: column 'area_m2', line 6: 'big' is not a number"]
    after = result_hashes(with_houses)
    assert after.pop("data/own/houses.csv") != before.pop("data/own/houses.csv")  # the user's edit, and no other
    assert after == before


def test_a_text_target_under_a_regression_loss_is_one_line_and_loses_nothing(with_houses):
    before = result_hashes(with_houses)
    params = tiny_params(RUN)
    params["run"] = [*RUN, "houses"]
    params["datasets"]["houses"] = HOUSES_PARAMS | {"train": {**HOUSES_PARAMS["train"], "loss": "mse"}}
    params["datasets"]["houses"]["data"] = {**HOUSES_PARAMS["data"], "split": {"test_size": 0.25}}
    write_params(with_houses, params)
    result = run(with_houses, "dvc", "repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "column 'price_band' holds text ('" in errors[0], result.stderr
    assert "a regression loss needs numbers" in errors[0]
    assert "failed to reproduce 'validate'" in result.stderr  # before any stage removed an output
    assert result_hashes(with_houses) == before

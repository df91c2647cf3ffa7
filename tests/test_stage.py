"""The entry point stages share: work spread over processes, and what a user sees when part of it fails."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tinynets.common.errors import DataError
from tinynets.common.stage import EXIT_USER_ERROR, each_in_processes, outcome


def write_or_fail(name: str, folder: Path) -> None:
    """A dataset's work: a file named after it, or a user error for the dataset called 'broken'."""
    if name == "broken":
        raise DataError(f"{name}: its predictions cannot be read")
    (folder / name).write_text(name)


def test_every_dataset_s_work_is_done_in_the_processes(tmp_path):
    names = ["iris", "mnist", "circles", "sum30"]
    each_in_processes(partial(write_or_fail, folder=tmp_path), names)
    assert sorted(path.read_text() for path in tmp_path.iterdir()) == sorted(names)


def test_an_error_in_one_dataset_s_process_is_the_stage_s_one_line_error(tmp_path, capsys):
    work = partial(write_or_fail, folder=tmp_path)
    code = outcome(lambda: each_in_processes(work, ["iris", "broken", "circles"]))
    assert code == EXIT_USER_ERROR
    assert capsys.readouterr().err == "error: broken: its predictions cannot be read\n"

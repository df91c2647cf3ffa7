"""Work spread over processes (the plot stage draws each dataset in its own), and what a user sees when part of
it fails."""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import pytest

from tinynets import parallel
from tinynets.common.errors import DataError
from tinynets.common.stage import EXIT_USER_ERROR, outcome


def write_or_fail(name: str, folder: Path) -> None:
    """A dataset's work: a file named after it holding the process id, or a user error for 'broken'."""
    if name == "broken":
        raise DataError(f"{name}: its predictions cannot be read")
    if name == "crash":
        os._exit(9)  # as a segfault or the OOM killer would end it
    (folder / name).write_text(str(os.getpid()))


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 2)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="draws in one process there")
def test_every_dataset_s_work_is_done_in_other_processes(tmp_path, two_cores):
    names = ["iris", "mnist", "circles", "sum30"]
    parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), names)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
    assert str(os.getpid()) not in {path.read_text() for path in tmp_path.iterdir()}


def test_one_core_does_the_work_here(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), ["iris", "mnist"])
    assert {path.read_text() for path in tmp_path.iterdir()} == {str(os.getpid())}


def test_an_error_in_one_dataset_s_process_is_the_stage_s_one_line_error(tmp_path, two_cores, capfd):
    work = partial(write_or_fail, folder=tmp_path)
    code = outcome(lambda: parallel.each_in_processes(work, ["iris", "broken", "circles"]))
    assert code == EXIT_USER_ERROR
    assert capfd.readouterr().err == "error: broken: its predictions cannot be read\n"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="draws in one process there")
def test_a_process_that_dies_fails_the_stage_instead_of_hanging_it(tmp_path, two_cores):
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), ["iris", "crash", "circles"])

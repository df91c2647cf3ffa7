"""Work spread over processes (the plot stage draws each dataset in its own), and what a user sees when part of
it fails."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import pytest

from tinynets import parallel
from tinynets.common.errors import DataError
from tinynets.common.stage import EXIT_USER_ERROR, outcome

TEST_PROCESS = os.getpid()
forks = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the work runs in one process there")


def write_or_fail(name: str, folder: Path, seconds: float = 0.0) -> None:
    """A dataset's work: after `seconds`, a file named after it holding the process id; a user error for
    'broken'; for 'crash', the end of its process, as a segfault or the OOM killer would end it."""
    if name == "broken":
        raise DataError(f"{name}: its predictions cannot be read")
    if name == "crash" and os.getpid() != TEST_PROCESS:
        os._exit(9)
    time.sleep(seconds)
    (folder / name).write_text(str(os.getpid()))


def within(seconds: float, call: Callable[[], None]) -> None:
    """Call `call()` in a thread; fail the test if it has not returned after `seconds`, and raise what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as error:  # handed to the test's thread
            raised.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if raised:
        raise raised[0]


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 2)


def pids(folder: Path) -> set[str]:
    return {path.read_text() for path in folder.iterdir()}


@forks
def test_every_dataset_s_work_is_done_in_other_processes(tmp_path, two_cores):
    names = ["iris", "mnist", "circles", "sum30"]
    parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), names)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
    assert str(TEST_PROCESS) not in pids(tmp_path)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_where_forking_is_unsafe_the_work_is_done_here(tmp_path, two_cores, monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), ["iris", "mnist"])
    assert pids(tmp_path) == {str(TEST_PROCESS)}


def test_one_core_does_the_work_here(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    parallel.each_in_processes(partial(write_or_fail, folder=tmp_path), ["iris", "mnist"])
    assert pids(tmp_path) == {str(TEST_PROCESS)}


def test_an_error_in_one_dataset_s_process_is_the_stage_s_one_line_error(tmp_path, two_cores, capfd):
    work = partial(write_or_fail, folder=tmp_path)
    code = outcome(lambda: parallel.each_in_processes(work, ["iris", "broken", "circles"]))
    assert code == EXIT_USER_ERROR
    assert capfd.readouterr().err == "error: broken: its predictions cannot be read\n"


@forks
def test_after_an_error_no_other_dataset_s_work_starts(tmp_path, two_cores):
    work = partial(write_or_fail, folder=tmp_path, seconds=2.0)  # long enough for broken's error to arrive first
    with pytest.raises(DataError):
        within(60, lambda: parallel.each_in_processes(work, ["broken", "iris", "mnist", "circles", "sum30"]))
    assert len(list(tmp_path.iterdir())) <= 1  # iris, which was running beside it


@forks
def test_a_process_that_dies_fails_the_stage_instead_of_hanging_it(tmp_path, two_cores):
    work = partial(write_or_fail, folder=tmp_path)
    with pytest.raises(BrokenProcessPool):
        within(60, lambda: parallel.each_in_processes(work, ["iris", "crash", "circles"]))

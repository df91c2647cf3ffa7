"""One job per dataset, spread over this machine's cores: the stages that do every dataset's work in one process
(matplotlib's import and DVC's bookkeeping cost more than a dataset's figures take to draw)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait


def cores() -> int:
    """The cores this process may run on (all of them where the OS cannot say, as on macOS)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def each_in_processes(work: Callable[[str], None], names: Sequence[str]) -> None:
    """Call `work(name)` for every name: on Linux in forked processes (which inherit the imports done), up to one
    per core; one after another here where there is one core or one name, or forking is unsafe (Windows cannot
    fork; macOS' system libraries may crash in a forked child). The first error is raised here once the jobs
    already running end, and no other job starts; a process that dies raises BrokenProcessPool, never hangs."""
    processes = min(len(names), cores())
    if processes <= 1 or sys.platform in ("win32", "darwin"):
        for name in names:
            work(name)
        return
    sys.stdout.flush()  # or each child would print again what this process has not yet written
    waiting = list(reversed(names))
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        running: set[Future] = set()
        while waiting or running:
            while waiting and len(running) < processes:  # never more jobs than workers: the pool starts queued ones
                running.add(pool.submit(work, waiting.pop()))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for job in done:
                job.result()

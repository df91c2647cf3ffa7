"""Run one stage as DVC does (`python -m stages.NAME ARGS`) and record how long its own work took.

The work is the time spent inside the stage function, everything after the imports; the benchmark
subtracts it from the process's wall time to get the stage's overhead. Usage:
    python bench/stage_timer.py WORK_FILE stages.train iris
"""

import os
import runpy
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # as `python -m` does: the project's own stages/ and tinynets/ come first
import tinynets.cli

work_file, module, *args = sys.argv[1:]
run_work = tinynets.cli.run


def timed_run(main) -> None:
    started = time.perf_counter()
    try:
        run_work(main)
    finally:
        Path(work_file).write_text(f"{time.perf_counter() - started:.6f}")


tinynets.cli.run = timed_run
sys.argv = [module, *args]
runpy.run_module(module, run_name="__main__", alter_sys=True)

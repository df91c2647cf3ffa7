"""Run one stage as DVC does (`python -m stages.NAME ARGS`); record its own work time and peak memory.

The work is the time spent inside the stage function, everything after the imports; the benchmark
subtracts it from the process's wall time to get the stage's overhead. Peak memory is VmHWM, the
high-water mark of this process's own memory (its own rusage would also count the forking parent's), or its
largest child's, where the stage forks workers. Usage:
    python bench/stage_timer.py RESULT_FILE stages.train iris
"""

import json
import os
import resource
import runpy
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # as `python -m` does: the project's own stages/ and tinynets/ come first
import tinynets.common.stage

result_file, module, *args = sys.argv[1:]
run_work = tinynets.common.stage.outcome


def peak_rss_mb() -> float:
    """This process's high-water mark, or its largest child's (the plot stage draws in forked processes)."""
    status = Path("/proc/self/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return max(int(kilobytes), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def timed_outcome(main) -> int:
    started = time.perf_counter()
    try:
        return run_work(main)
    finally:
        work_s = time.perf_counter() - started
        Path(result_file).write_text(json.dumps({"work_s": work_s, "peak_rss_mb": peak_rss_mb()}))


tinynets.common.stage.outcome = timed_outcome
sys.argv = [module, *args]
runpy.run_module(module, run_name="__main__", alter_sys=True)

"""The entry point every stage script shares: one dataset name in, one-line errors out."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tinynets.common.errors import TinynetsError

EXIT_USER_ERROR = 2


def outcome(main: Callable[[], None]) -> int:
    """Call `main()`; return the exit code, a user error reported as one line on stderr (no traceback)."""
    try:
        main()
    except TinynetsError as error:
        rank = f"rank {os.environ['RANK']}: " if "RANK" in os.environ else ""  # set by torchrun for each process
        print(f"error: {rank}{error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def run(main: Callable[[], None]) -> None:
    """Run a stage's `main()` and end the process with its exit code.

    The stage's files are written, closed and renamed by then, so the process skips Python's teardown,
    which spends half a second unloading torch's modules (a tenth for scikit-learn's) and saves nothing.
    """
    code = outcome(main)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main_module() -> str:
    """The module this process runs, e.g. 'stages.train' for `python -m stages.train`."""
    spec = sys.modules["__main__"].__spec__
    return spec.name if spec is not None else sys.argv[0]


def run_stage(stage: Callable[[str], None]) -> None:
    """Call `stage(dataset)` with the dataset named on the command line."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: python -m {main_module()} DATASET")
    run(lambda: stage(sys.argv[1]))

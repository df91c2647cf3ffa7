"""The entry point every stage script shares: one dataset name in, one-line errors out."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tinynets.errors import TinynetsError

EXIT_USER_ERROR = 2


def run(main: Callable[[], None]) -> None:
    """Call `main()`; a user error becomes one line on stderr and exit code 2, without a traceback."""
    try:
        main()
    except TinynetsError as error:
        rank = f"rank {os.environ['RANK']}: " if "RANK" in os.environ else ""  # set by torchrun for each process
        print(f"error: {rank}{error}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def main_module() -> str:
    """The module this process runs, e.g. 'stages.train' for `python -m stages.train`."""
    spec = sys.modules["__main__"].__spec__
    return spec.name if spec is not None else sys.argv[0]


def run_stage(stage: Callable[[str], None]) -> None:
    """Call `stage(dataset)` with the dataset named on the command line."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: python -m {main_module()} DATASET")
    run(lambda: stage(sys.argv[1]))

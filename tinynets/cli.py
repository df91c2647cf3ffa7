"""The entry point every stage script shares: one dataset name in, one-line errors out."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tinynets.errors import TinynetsError

EXIT_USER_ERROR = 2


def run(main: Callable[[], None]) -> None:
    """Call `main()`; a user error becomes one line on stderr and exit code 2, without a traceback."""
    try:
        main()
    except TinynetsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def run_stage(stage: Callable[[str], None]) -> None:
    """Call `stage(dataset)` with the dataset named on the command line."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} DATASET")
    run(lambda: stage(sys.argv[1]))

"""Stage report: gather every dataset's results into DVC plot data and one summary table."""

from tinynets import artifacts
from tinynets.cli import run
from tinynets.params import load_params
from tinynets.report import write_report


def report() -> None:
    with artifacts.atomic_dir(artifacts.REPORTS) as folder:
        write_report(load_params(), folder)


if __name__ == "__main__":
    run(report)

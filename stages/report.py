"""Stage report: gather every dataset's results into DVC plot data, one summary table and one HTML page."""

from tinynets.common import artifacts, settings
from tinynets.common.stage import run
from tinynets.html_report import write_page
from tinynets.modelfile import read_info
from tinynets.report import write_report


def report() -> None:
    names = list(settings.read(artifacts.RUN_SETTINGS).run)
    scores = {name: artifacts.read_json(artifacts.model_metrics(name)) for name in names}
    models = {name: read_info(artifacts.model(name)) for name in names}
    with artifacts.atomic_dir(artifacts.REPORTS) as folder:
        write_report(names, scores, folder)
        write_page(folder / "index.html", names, scores, models)


if __name__ == "__main__":
    run(report)

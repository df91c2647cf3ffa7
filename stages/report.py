"""Stage report: gather every dataset's results into DVC plot data, one summary table and one HTML page."""

from tinynets import artifacts
from tinynets.cli import run
from tinynets.html_report import write_page
from tinynets.modelfile import read_info
from tinynets.params import load_params
from tinynets.report import write_report


def report() -> None:
    params = load_params()
    scores = {name: artifacts.read_json(artifacts.model_metrics(name)) for name in params.run}
    models = {name: read_info(artifacts.model(name)) for name in params.run}
    with artifacts.atomic_dir(artifacts.REPORTS) as folder:
        write_report(params, scores, folder)
        write_page(folder / "index.html", params.run, scores, models)


if __name__ == "__main__":
    run(report)

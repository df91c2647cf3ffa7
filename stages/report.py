"""Stage report: gather every dataset's results (and its last search's, when search/ holds one) into DVC plot data,
one summary and one HTML page."""

from tinynets.common import files, paths, settings
from tinynets.common.stage import run
from tinynets.html_report import write_page
from tinynets.modelfile import read_info
from tinynets.report import write_report


def report() -> None:
    names = list(settings.read(paths.RUN_SETTINGS).run)
    scores = {name: files.read_json(paths.of(name).metrics) for name in names}
    models = {name: read_info(paths.of(name).model) for name in names}
    summaries = {name: paths.of(name).search_summary for name in names}
    searches = {name: files.read_json(path) for name, path in summaries.items() if path.exists()}
    with files.atomic_dir(paths.REPORTS) as folder:
        write_report(names, scores, searches, folder)
        write_page(folder / "index.html", names, scores, models, searches)


if __name__ == "__main__":
    run(report)

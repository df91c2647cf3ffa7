"""Stage report: gather every dataset's results (and its last search's, when search/ holds one) into DVC plot data,
one summary and one HTML page."""

from tinynets.common import files, paths, settings
from tinynets.common.stage import run
from tinynets.html_report import write_page
from tinynets.modelfile import read_info
from tinynets.report import read_search_summary, write_report


def report() -> None:
    names = list(settings.read(paths.RUN_SETTINGS).run)
    scores = {name: files.read_json(paths.of(name).metrics) for name in names}
    models = {name: read_info(paths.of(name).model) for name in names}
    searches = {name: search for name in names if (search := read_search_summary(name))}
    with files.atomic_dir(paths.REPORTS) as folder:
        write_report(names, scores, searches, folder)
        write_page(folder / "index.html", names, scores, models, searches)


if __name__ == "__main__":
    run(report)

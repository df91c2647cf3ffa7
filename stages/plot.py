"""Stage plot: draw every dataset's figures: loss curve, confusion matrix or predicted-vs-actual, and more; then
the figures of its net learning (training.gif, neurons, network, first layer, mistakes, dynamics); and those
of its last `tinynets search`, where search/<dataset>.json holds one.

One stage for all datasets, drawn in up to a process per core (tinynets/parallel.py): matplotlib's import and
DVC's bookkeeping cost more per stage than a dataset's figures take to draw.
"""

from functools import partial
from pathlib import Path

from tinynets.common import files, paths, settings
from tinynets.common.stage import run
from tinynets.learning_plots import draw_learning
from tinynets.parallel import each_in_processes
from tinynets.plots import draw_dataset
from tinynets.report import read_search_summary
from tinynets.search_plots import draw_search


def draw(name: str, images: Path) -> None:
    """Every figure of one dataset, into its folder under `images`."""
    where = paths.of(name)
    curve = files.read_tsv(where.loss_history)
    predictions = files.read_arrays(where.predictions)
    scores = files.read_json(where.metrics)
    draw_dataset(name, curve, predictions, scores, images / name)
    learning = files.read_arrays(where.learning)
    dynamics = files.read_tsv(where.dynamics)
    draw_learning(name, learning, dynamics, curve, predictions, scores.get("best_epoch"), images / name)
    search = read_search_summary(name)
    if search:
        draw_search(search, images / name)


def plot() -> None:
    with files.atomic_dir(paths.IMAGES) as folder:
        each_in_processes(partial(draw, images=folder), settings.read(paths.RUN_SETTINGS).run)


if __name__ == "__main__":
    run(plot)

"""Stage evaluate: score every dataset's trained net on its test outputs, beside its baselines; keep what the
plots draw.

One process for all datasets, like plot: scikit-learn's import (1.5 s) and DVC's bookkeeping for a stage
cost more than scoring a dataset takes (0.1 s; MNIST's 10,000 rows 1.4 s).
"""

import json

from tinynets import measures
from tinynets.common import contracts, files, paths, settings
from tinynets.common.stage import run
from tinynets.evaluation.scoring import evaluate as score


def evaluate() -> None:
    config = settings.read(paths.EVALUATE_SETTINGS)
    with (
        files.atomic_dir(paths.PREDICTIONS) as predictions,
        files.atomic_dir(paths.METRICS) as metrics,
    ):
        for name in settings.read(paths.RUN_SETTINGS).run:
            where = paths.of(name)
            net = files.read_arrays(where.outputs)
            training = json.loads(str(net.pop("training")))
            features = files.read_arrays(where.features)
            info = contracts.read(contracts.FEATURE_INFO, where.feature_info)
            scores, predicted = score(net, training, features, info, config, config.seasons.get(name))
            files.write_arrays(predictions / where.predictions.name, **predicted)
            files.write_json(metrics / where.metrics.name, scores)
            shown = [metric.name for metric in measures.headline_of(measures.task_of_scores(scores))]
            print(f"{name}: " + ", ".join(f"{key} {scores[key]}" for key in shown if key in scores))


if __name__ == "__main__":
    run(evaluate)

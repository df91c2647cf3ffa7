"""Stage evaluate: score every dataset's trained net on its test outputs, beside its baselines; keep what the
plots draw.

One process for all datasets, like plot: scikit-learn's import (1.5 s) and DVC's bookkeeping for a stage
cost more than scoring a dataset takes (0.1 s; MNIST's 10,000 rows 1.4 s).
"""

import json

from tinynets.common import artifacts, settings
from tinynets.common.stage import run
from tinynets.evaluation.scoring import evaluate as score


def evaluate() -> None:
    config = settings.read(artifacts.EVALUATE_SETTINGS)
    with (
        artifacts.atomic_dir(artifacts.PREDICTIONS) as predictions,
        artifacts.atomic_dir(artifacts.METRICS) as metrics,
    ):
        for name in settings.read(artifacts.RUN_SETTINGS).run:
            net = artifacts.read_arrays(artifacts.outputs(name))
            training = json.loads(str(net.pop("training")))
            features = artifacts.read_arrays(artifacts.features(name))
            info = artifacts.read_json(artifacts.feature_info(name))
            scores, predicted = score(net, training, features, info, config, config.seasons.get(name))
            artifacts.write_arrays(artifacts.predictions(name, predictions), **predicted)
            artifacts.write_json(artifacts.model_metrics(name, metrics), scores)
            headline = {key: scores[key] for key in ("accuracy", "mae", "mase", "r2") if key in scores}
            print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in headline.items()))


if __name__ == "__main__":
    run(evaluate)

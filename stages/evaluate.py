"""Stage evaluate: score the trained net's test outputs and its baselines; keep what the plots draw."""

import json

from tinynets.common import artifacts, settings
from tinynets.common.stage import run_stage
from tinynets.evaluation.scoring import evaluate as score


def evaluate(name: str) -> None:
    net = artifacts.read_arrays(artifacts.outputs(name))
    training = json.loads(str(net.pop("training")))
    features = artifacts.read_arrays(artifacts.features(name))
    info = artifacts.read_json(artifacts.feature_info(name))
    scores, predictions = score(net, training, features, info, settings.read(artifacts.EVALUATE_SETTINGS))
    artifacts.write_arrays(artifacts.predictions(name), **predictions)
    artifacts.write_json(artifacts.model_metrics(name), scores)
    headline = {key: scores[key] for key in ("accuracy", "mae", "r2") if key in scores}
    print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in headline.items()))


if __name__ == "__main__":
    run_stage(evaluate)

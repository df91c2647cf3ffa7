"""Stage plot: draw a dataset's PNGs (loss curve, then confusion matrix or predicted-vs-actual, and more)."""

import numpy as np

from tinynets import artifacts, plots
from tinynets.cli import run_stage
from tinynets.params import load_params


def plot(name: str) -> None:
    config = load_params().dataset(name)
    predictions = artifacts.read_arrays(artifacts.predictions(name))
    scores = artifacts.read_json(artifacts.model_metrics(name))
    with artifacts.atomic_dir(artifacts.images(name)) as folder:
        plots.loss_curve(artifacts.read_loss_tsv(artifacts.loss_history(name)), f"{name}: loss", folder / "loss.png")
        if config.is_classifier:
            counts = np.array(scores["confusion_matrix"])
            plots.confusion_matrix(counts, f"{name}: confusion matrix", folder / "confusion_matrix.png")
        else:
            plots.predicted_vs_actual(
                predictions["y_true"], predictions["y_pred"], f"{name}: test set", folder / "predicted_vs_actual.png"
            )
        if "grid_class" in predictions:
            plots.decision_regions(
                predictions["grid_x"],
                predictions["grid_y"],
                predictions["grid_class"],
                predictions["x_test"],
                predictions["y_true"],
                f"{name}: decision regions",
                folder / "decision_regions.png",
            )
        if "images" in predictions:
            count = len(predictions["images"])
            plots.sample_images(
                predictions["images"],
                predictions["y_true"][:count],
                predictions["y_pred"][:count],
                name,
                folder / "samples.png",
            )


if __name__ == "__main__":
    run_stage(plot)

"""Stage plot: draw a dataset's PNGs (loss curve, then confusion matrix or predicted-vs-actual, and more)."""

import numpy as np

from tinynets import artifacts, plots
from tinynets.cli import run_stage


def plot(name: str) -> None:
    predictions = artifacts.read_arrays(artifacts.predictions(name))
    scores = artifacts.read_json(artifacts.model_metrics(name))
    with artifacts.atomic_dir(artifacts.images(name)) as folder:
        plots.loss_curve(artifacts.read_loss_tsv(artifacts.loss_history(name)), f"{name}: loss", folder / "loss.png")
        if "classes" in predictions:
            classes = predictions["classes"].tolist()
            counts = np.array(scores["confusion_matrix"])
            plots.confusion_matrix(counts, classes, f"{name}: confusion matrix", folder / "confusion_matrix.png")
        else:
            plots.predicted_vs_actual(
                predictions["y_true"], predictions["y_pred"], f"{name}: test set", folder / "predicted_vs_actual.png"
            )
        if "roc_fpr" in predictions and "roc_auc" in scores:
            plots.roc_curve(
                predictions["roc_fpr"], predictions["roc_tpr"], scores["roc_auc"], f"{name}: ROC", folder / "roc.png"
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
            names = np.array(predictions["classes"].tolist())
            plots.sample_images(
                predictions["images"],
                names[predictions["y_true"][:count]].tolist(),
                names[predictions["y_pred"][:count]].tolist(),
                name,
                folder / "samples.png",
            )


if __name__ == "__main__":
    run_stage(plot)

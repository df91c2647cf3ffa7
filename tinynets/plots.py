"""PNG figures for people (the data files `dvc plots show` renders are written by the report stage)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit to import
import matplotlib.pyplot as plt
import numpy as np

# Tick values of 10^5 or more, or under 10^-2, are written as a scaled number with the power once by the axis
# (a user's data of any size): tick labels stay short enough for the figures' fixed margins.
matplotlib.rcParams["axes.formatter.limits"] = (-3, 5)


def save(figure: plt.Figure, path: Path, tight: bool = False) -> None:
    """Write the figure as a PNG (no timestamp in it: equal figures give equal bytes) and close it. Its margins
    are the caller's (`subplots_adjust`), or with `tight` fitted to its labels first (which measures every text
    once more: half again the cost of a plain figure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def fill_under_title(figure: plt.Figure) -> None:
    """Margins for one axes without ticks (a mosaic of images) filling the figure under a one-line title."""
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.4 / figure.get_figheight())


def loss_curve(curve: dict[str, np.ndarray], title: str, path: Path) -> None:
    """Loss per epoch (train, test, and validation when there is one); the lr on a second axis if it changes."""
    figure, axes = plt.subplots(figsize=(6, 4))
    changing_lr = "lr" in curve and np.ptp(curve["lr"]) > 0
    figure.subplots_adjust(left=0.14, right=0.86 if changing_lr else 0.97, bottom=0.12, top=0.92)
    epochs = curve["epoch"]
    losses = {key: values for key, values in curve.items() if key in ("train", "valid", "test")}
    for key, values in losses.items():
        axes.plot(epochs, values, label=key)
    axes.set(xlabel="epoch", ylabel="loss", title=title)
    finite = np.concatenate([values[np.isfinite(values)] for values in losses.values()])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if changing_lr:
        rate = axes.twinx()
        rate.plot(epochs, curve["lr"], color="gray", linestyle=":", label="lr")
        rate.set_ylabel("learning rate")
        more_handles, more_labels = rate.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axes.legend(handles, labels)
    save(figure, path)


def confusion_matrix(counts: np.ndarray, classes: list[str], title: str, path: Path) -> None:
    """A heat map of true (rows) against predicted (columns) classes, named, with the counts written in."""
    size = max(4.0, 0.5 * len(counts) + 2.5)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(counts, cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if count > counts.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    ticks = range(len(counts))
    axes.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=title)
    axes.set_xticklabels(classes, rotation=45 if max(map(len, classes)) > 3 else 0, ha="right")
    axes.set_yticklabels(classes)
    save(figure, path, tight=True)  # class names of any length


def roc_curve(fpr: np.ndarray, tpr: np.ndarray, auc: float, title: str, path: Path) -> None:
    """The ROC curve of a two-class problem, with the diagonal of a random guess."""
    figure, axes = plt.subplots(figsize=(5, 5))
    figure.subplots_adjust(left=0.14, right=0.96, bottom=0.11, top=0.93)
    axes.plot(fpr, tpr, label=f"net (AUC {auc:.4f})")
    axes.plot([0, 1], [0, 1], color="gray", linestyle="--", label="random guess")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    axes.legend(loc="lower right")
    save(figure, path)


def decision_regions(
    grid_x: np.ndarray, grid_y: np.ndarray, grid_class: np.ndarray, x: np.ndarray, y: np.ndarray, title: str, path: Path
) -> None:
    """The class the model predicts over the input plane, with the test points on top."""
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.contourf(grid_x, grid_y, grid_class, alpha=0.3, cmap="coolwarm")
    axes.scatter(x[:, 0], x[:, 1], c=y, s=8, cmap="coolwarm", edgecolors="k", linewidths=0.2)
    axes.set(xlabel="x1", ylabel="x2", title=title)
    save(figure, path, tight=True)  # a user's two features, of any size


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, title: str, path: Path) -> None:
    """Each test target against its prediction, with the line a perfect model would follow; beside it, each
    residual (actual minus predicted) against the prediction: a pattern means the net misses something it could
    learn, a fan means its errors grow with the value."""
    actual, predicted = actual.ravel(), predicted.ravel()
    figure, (fit, misses) = plt.subplots(1, 2, figsize=(10, 4.6))
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.12, top=0.9, wspace=0.28)
    fit.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    fit.plot([low, high], [low, high], color="gray", linestyle="--", label="perfect")
    fit.set(xlabel="actual", ylabel="predicted", title=f"{title}: predicted against actual")
    fit.legend()
    misses.scatter(predicted, actual - predicted, s=8, alpha=0.6)
    misses.axhline(0, color="gray", linestyle="--", label="no error")
    misses.set(xlabel="predicted", ylabel="actual - predicted", title="residuals")
    misses.legend()
    save(figure, path)


def mosaic(images: np.ndarray, columns: int, cell_h: int, cell_w: int) -> np.ndarray:
    """Images in rows of `columns`, each at the top left of a `cell_h` x `cell_w` cell; NaN around them (room for
    captions). One image drawn once is a tenth of the time of a subplot per image."""
    rows = -(-len(images) // columns)
    height, width = images.shape[1:3]
    tiled = np.full((rows * cell_h, columns * cell_w), np.nan)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        tiled[row * cell_h : row * cell_h + height, column * cell_w : column * cell_w + width] = image
    return tiled


def sample_images(images: np.ndarray, labels: list[str], predicted: list[str], title: str, path: Path) -> None:
    """The first test images in one mosaic, each captioned with its predicted and true class; misses in red."""
    count, columns = min(len(images), 32), 8
    rows = -(-count // columns)
    height, width = images.shape[1:3]
    cell_h, cell_w = height * 10 // 7, width + 2  # room for a two-line caption under each image
    figure, axes = plt.subplots(figsize=(columns * 1.3, rows * 1.7))
    axes.imshow(np.ma.masked_invalid(mosaic(images[:count], columns, cell_h, cell_w)), cmap="gray")
    for index in range(count):
        row, column = divmod(index, columns)
        color = "black" if labels[index] == predicted[index] else "red"
        caption = f"{predicted[index]}\n({labels[index]})"
        axes.text(
            column * cell_w + width / 2,
            row * cell_h + height + 0.5,
            caption,
            ha="center",
            va="top",
            fontsize=6,
            color=color,
        )
    axes.set_ylim(rows * cell_h, -1)
    axes.axis("off")
    axes.set_title(f"{title}: predicted (true)")
    fill_under_title(figure)
    save(figure, path)


def _time_ticks(axes: plt.Axes, labels: np.ndarray, steps: np.ndarray | None = None) -> None:
    """About eight of the steps' time labels along the x axis, at their step numbers (default: 0, 1, ...)."""
    steps = np.arange(len(labels)) if steps is None else steps
    every = max(1, len(labels) // 8)
    axes.set_xticks(steps[::every], labels[::every], rotation=30, ha="right")


def forecast(predictions: dict[str, np.ndarray], title: str, path: Path) -> None:
    """The test period: the truth beside the net's and the naive forecast of the first step ahead; then the last
    test window and every step the net forecasts from it."""
    figure, (period, last) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    times, steps = predictions["times"], predictions["steps"]
    period.plot(steps, predictions["y_true"][:, 0], color="black", label="truth")
    period.plot(steps, predictions["y_pred"][:, 0], label="net")
    period.plot(steps, predictions["naive"][:, 0], linestyle="--", alpha=0.7, label="naive (last value)")
    period.set(title=f"{title}: test period, one step ahead", ylabel="value")
    _time_ticks(period, times, steps)
    period.legend()
    period.grid(alpha=0.3)
    window, ahead = predictions["last_window_times"], predictions["horizon_times"]
    inputs, horizon = np.arange(len(window)), np.arange(len(window), len(window) + len(ahead))
    last.plot(inputs, predictions["last_window"], color="gray", marker=".", label="window (inputs)")
    last.plot(horizon, predictions["y_true"][-1, : len(ahead)], color="black", marker="o", label="truth")
    last.plot(horizon, predictions["y_pred"][-1, : len(ahead)], marker="o", label="net")
    last.set(title="the last test window")
    _time_ticks(last, np.concatenate([window, ahead]))
    last.legend(fontsize=7)
    last.grid(alpha=0.3)
    save(figure, path, tight=True)  # time labels of any length


def draw_dataset(
    name: str, curve: dict[str, np.ndarray], predictions: dict[str, np.ndarray], scores: dict, folder: Path
) -> None:
    """Every figure of one dataset into `folder`: the loss curve, then what its kind of problem and data allow."""
    loss_curve(curve, f"{name}: loss", folder / "loss.png")
    if "classes" in predictions:
        classes = predictions["classes"].tolist()
        counts = np.array(scores["confusion_matrix"])
        confusion_matrix(counts, classes, f"{name}: confusion matrix", folder / "confusion_matrix.png")
    else:
        actual, predicted = predictions["y_true"], predictions["y_pred"]
        predicted_vs_actual(actual, predicted, f"{name} (test set)", folder / "predicted_vs_actual.png")
    if "naive" in predictions:
        forecast(predictions, name, folder / "forecast.png")
    if "roc_fpr" in predictions and "roc_auc" in scores:
        roc_curve(predictions["roc_fpr"], predictions["roc_tpr"], scores["roc_auc"], f"{name}: ROC", folder / "roc.png")
    if "grid_class" in predictions:
        grid = (predictions["grid_x"], predictions["grid_y"], predictions["grid_class"])
        points = (predictions["x_test"], predictions["y_true"])
        decision_regions(*grid, *points, f"{name}: decision regions", folder / "decision_regions.png")
    if "images" in predictions:
        count = len(predictions["images"])
        names = predictions["classes"]
        truth, guess = names[predictions["y_true"][:count]].tolist(), names[predictions["y_pred"][:count]].tolist()
        sample_images(predictions["images"], truth, guess, name, folder / "samples.png")

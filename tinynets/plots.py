"""PNG figures for people (the data files `dvc plots show` renders are written by artifacts and report)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit to import
import matplotlib.pyplot as plt
import numpy as np


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def loss_curve(curve: np.ndarray, title: str, path: Path) -> None:
    """Train and test loss per epoch."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(curve[:, 0], curve[:, 1], label="train")
    axes.plot(curve[:, 0], curve[:, 2], label="test")
    axes.set(xlabel="epoch", ylabel="loss", title=title)
    if curve[:, 1:].min() > 0 and curve[:, 1:].max() / curve[:, 1:].min() > 100:
        axes.set_yscale("log")
    axes.legend()
    axes.grid(alpha=0.3)
    _save(figure, path)


def confusion_matrix(counts: np.ndarray, title: str, path: Path) -> None:
    """A heat map of true (rows) against predicted (columns) classes, with the counts written in."""
    size = max(4.0, 0.5 * len(counts) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(counts, cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if count > counts.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    ticks = range(len(counts))
    axes.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=title)
    _save(figure, path)


def decision_regions(
    grid_x: np.ndarray, grid_y: np.ndarray, grid_class: np.ndarray, x: np.ndarray, y: np.ndarray, title: str, path: Path
) -> None:
    """The class the model predicts over the input plane, with the test points on top."""
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.contourf(grid_x, grid_y, grid_class, alpha=0.3, cmap="coolwarm")
    axes.scatter(x[:, 0], x[:, 1], c=y, s=8, cmap="coolwarm", edgecolors="k", linewidths=0.2)
    axes.set(xlabel="x1", ylabel="x2", title=title)
    _save(figure, path)


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, title: str, path: Path) -> None:
    """Each test target against its prediction, with the line a perfect model would follow."""
    actual, predicted = actual.ravel(), predicted.ravel()
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    axes.plot([low, high], [low, high], color="gray", linestyle="--", label="perfect")
    axes.set(xlabel="actual", ylabel="predicted", title=title)
    axes.legend()
    _save(figure, path)


def sample_images(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, title: str, path: Path) -> None:
    """The first test images with their true and predicted labels; misses in red."""
    count = min(len(images), 32)
    columns = 8
    rows = -(-count // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.4), squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.axis("off")
        if index < count:
            axes.imshow(images[index], cmap="gray")
            hit = labels[index] == predicted[index]
            axes.set_title(f"{predicted[index]} ({labels[index]})", fontsize=8, color="black" if hit else "red")
    figure.suptitle(f"{title}: predicted (true)")
    _save(figure, path)

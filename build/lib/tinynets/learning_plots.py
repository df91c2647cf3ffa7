"""The figures that show a net learning, drawn from what the train stage recorded: training.gif (the decision
regions forming), neurons.png (each hidden unit over the plane), network.png (every weight), first_layer.png,
mistakes.png and dynamics.png (weight and gradient norms, dead units, per layer)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.ticker import NullLocator, StrMethodFormatter
from PIL import Image

from tinynets.plots import fill_under_title, mosaic, save

CLASS_COLORS = plt.get_cmap("tab10").colors
POSITIVE, NEGATIVE = "#1f77b4", "#ff7f0e"  # weight signs, as TensorFlow Playground colours them
FRAME_MS, LAST_FRAME_MS = 150, 2000
# A region's tint: a faint one wherever the net decides at all (its boundary shows while it is unsure), half its
# class's colour where it is sure (the points, in full colour, stay visible).
REGION_FLOOR, REGION_STRENGTH = 0.15, 0.55


def class_regions(probabilities: np.ndarray) -> np.ndarray:
    """An RGB image of (height, width, classes) probabilities: the likeliest class's colour, paler where the net
    is less sure."""
    classes = probabilities.shape[-1]
    colors = np.array([to_rgb(CLASS_COLORS[index % len(CLASS_COLORS)]) for index in range(classes)])
    sure = (probabilities.max(axis=-1, keepdims=True) - 1 / classes) * classes / (classes - 1)
    tint = REGION_FLOOR + (REGION_STRENGTH - REGION_FLOOR) * np.clip(sure, 0, 1)
    return 1 - tint * (1 - colors[probabilities.argmax(axis=-1)])


def _points(axes: plt.Axes, x: np.ndarray, labels: np.ndarray, marker: str, label: str) -> plt.Artist:
    colors = np.array(CLASS_COLORS)[labels % len(CLASS_COLORS)]
    axes.scatter([], [], c="gray", s=16, marker=marker, edgecolors="k", linewidths=0.3, label=label)
    return axes.scatter(x[:, 0], x[:, 1], c=colors, s=9, marker=marker, edgecolors="k", linewidths=0.3)


def training_gif(
    learning: dict[str, np.ndarray],
    curve: dict[str, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    title: str,
    path: Path,
) -> None:
    """The decision regions at each recorded epoch, with the train and test points, as an animated GIF whose
    frames name their epoch and train and test loss (the last frame lingers).

    Matplotlib draws the axes and the points once: each frame draws only its regions and its title, under the
    points composited in numpy (a fifth of the time of drawing every frame whole).
    """
    frames, epochs = learning["frames"].astype(np.float32), learning["frame_epochs"]
    extent = (learning["frame_x"][0], learning["frame_x"][-1], learning["frame_y"][0], learning["frame_y"][-1])
    figure, axes = plt.subplots(figsize=(4.8, 5.0), dpi=80)
    image = axes.imshow(
        class_regions(frames[0]), extent=extent, origin="lower", interpolation="bilinear", aspect="auto"
    )
    points = [
        _points(axes, learning["train_points"], learning["train_labels"], "o", "train"),
        _points(axes, *test, "X", "test"),
    ]
    axes.set(xlabel="x1", ylabel="x2", xlim=extent[:2], ylim=extent[2:])
    on_top = [*points, *axes.spines.values(), axes.legend(loc="upper right", fontsize=7)]
    heading = axes.set_title("epoch\nloss", fontsize=10)  # two lines, as every frame's: the layout leaves room
    figure.tight_layout()
    heading.set_text("")  # empty, never hidden: matplotlib places a hidden title far above its axes
    under = [figure.patch, axes.patch, axes.xaxis, axes.yaxis, image]
    for artist in under:  # what the overlay leaves out: it holds the points, the spines and the legend alone
        artist.set_visible(False)
    figure.canvas.draw()
    overlay = np.asarray(figure.canvas.buffer_rgba())
    covered = overlay[..., 3] > 0  # the few pixels the overlay paints
    overlay = overlay[covered].astype(np.uint32)
    for artist in under:
        artist.set_visible(True)
    for artist in (*on_top, image):
        artist.set_visible(False)
    figure.canvas.draw()
    background = figure.canvas.copy_from_bbox(figure.bbox)
    image.set_visible(True)
    # Integer alpha compositing, rounded to nearest: (under * (255 - alpha) + over * alpha + 127) // 255.
    keep, over = 255 - overlay[:, 3:], overlay[:, :3] * overlay[:, 3:] + 127
    pictures = []
    kept = len(frames) - 1 if learning["frame_kept"] else None  # early stopping: the model it kept, last
    for index, (frame, epoch) in enumerate(zip(frames, epochs, strict=True)):
        image.set_data(class_regions(frame))
        row = int(epoch) - 1
        which = f"epoch {epoch}, the one early stopping kept" if index == kept else f"epoch {epoch}"
        heading.set_text(f"{title}: {which}\ntrain loss {curve['train'][row]:.4f}, test loss {curve['test'][row]:.4f}")
        figure.canvas.restore_region(background)
        axes.draw_artist(image)
        axes.draw_artist(heading)
        rgb = np.array(figure.canvas.buffer_rgba())[..., :3]
        rgb[covered] = (rgb[covered] * keep + over) // 255
        pictures.append(Image.fromarray(rgb).quantize(colors=128, method=Image.Quantize.FASTOCTREE))
    plt.close(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [FRAME_MS] * (len(pictures) - 1) + [LAST_FRAME_MS]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=durations, loop=0)


def _tiles(
    axes_grid: np.ndarray,
    images: list[np.ndarray],
    titles: list[str],
    extent: tuple[float, ...] | None = None,
    points: np.ndarray | None = None,
) -> None:
    """Each image in its own small panel, coloured on a scale symmetric about 0 (0 white), the rest blank; over
    the plane (`extent`), the train points as faint dots."""
    for axes in axes_grid.ravel():
        axes.axis("off")
    for axes, picture, name in zip(axes_grid.ravel(), images, titles, strict=False):
        bound = float(np.abs(picture).max()) or 1.0
        origin = "lower" if extent else "upper"
        axes.imshow(picture, cmap="RdBu_r", vmin=-bound, vmax=bound, extent=extent, origin=origin)
        if points is not None:
            axes.scatter(points[:, 0], points[:, 1], s=0.5, c="k", alpha=0.25, linewidths=0)
        axes.set_title(name, fontsize=7)


def neurons(learning: dict[str, np.ndarray], title: str, path: Path) -> None:
    """Each hidden unit's output over the input plane, a row of thumbnails per hidden layer."""
    layers = learning["neuron_layers"].tolist()
    units = [learning[f"neurons_{index}"] for index in range(1, len(layers) + 1)]
    columns = min(8, max(len(layer) for layer in units))
    rows = sum(-(-len(layer) // columns) for layer in units)
    figure, grid = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.5 * rows + 0.5), squeeze=False)
    extent = (learning["neuron_x"][0], learning["neuron_x"][-1], learning["neuron_y"][0], learning["neuron_y"][-1])
    row = 0
    for name, outputs in zip(layers, units, strict=True):
        height = -(-len(outputs) // columns)
        titles = [f"{name} unit {unit + 1}" for unit in range(len(outputs))]
        _tiles(grid[row : row + height], list(outputs), titles, extent, learning.get("train_points"))
        row += height
    figure.suptitle(f"{title}: each hidden unit's output over the plane (red > 0, blue < 0)", fontsize=9)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.5 / figure.get_figheight(), hspace=0.3)
    save(figure, path)


def network(learning: dict[str, np.ndarray], inputs: list[str], outputs: list[str], title: str, path: Path) -> None:
    """The MLP as nodes and edges: an edge's width grows with its weight's size, its colour is the weight's sign."""
    weights = [
        learning[f"network_{index}"] for index in range(1, sum(key.startswith("network_") for key in learning) + 1)
    ]
    sizes = [weights[0].shape[1], *(weight.shape[0] for weight in weights)]
    tallest = max(sizes)
    place = [np.linspace(0, tallest - 1, size) if size > 1 else np.array([(tallest - 1) / 2]) for size in sizes]
    figure, axes = plt.subplots(figsize=(2.2 * len(sizes) + 2, max(3.0, 0.35 * tallest + 1)))
    largest = max(float(np.abs(weight).max()) for weight in weights) or 1.0
    for layer, weight in enumerate(weights):
        segments = [
            [(layer, place[layer][source]), (layer + 1, place[layer + 1][target])]
            for target in range(weight.shape[0])
            for source in range(weight.shape[1])
        ]
        values = weight.ravel()
        lines = LineCollection(
            segments,
            linewidths=0.3 + 3.7 * np.abs(values) / largest,
            colors=[POSITIVE if value > 0 else NEGATIVE for value in values],
            alpha=0.8,
        )
        axes.add_collection(lines)
    for layer, positions in enumerate(place):
        axes.scatter(np.full(len(positions), layer), positions, s=120, c="white", edgecolors="k", zorder=3)
    for names, layer, side in ((inputs, 0, "right"), (outputs, len(sizes) - 1, "left")):
        offset = -0.08 if side == "right" else 0.08
        for name, position in zip(names, place[layer], strict=False):
            axes.text(layer + offset, position, name, ha=side, va="center", fontsize=8)
    axes.set_xlim(-1.2, len(sizes) - 1 + 1.2)
    axes.set_ylim(-1, tallest)
    axes.invert_yaxis()
    axes.axis("off")
    axes.set_title(f"{title}: every weight (width: size; blue > 0, orange < 0)", fontsize=10)
    save(figure, path, tight=True)  # a user's feature and class names, of any length


def _signed_tiles(axes: plt.Axes, tiles: np.ndarray, columns: int) -> None:
    """Weights as one mosaic of tiles, each on its own scale symmetric about 0: red > 0, blue < 0, 0 white."""
    bounds = np.abs(tiles).reshape(len(tiles), -1).max(axis=1)
    scaled = tiles / np.where(bounds > 0, bounds, 1)[:, None, None]
    height, width = tiles.shape[1:3]
    tiled = mosaic(scaled, columns, height + 2, width + 2)
    axes.imshow(np.ma.masked_invalid(tiled), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    axes.axis("off")


def first_layer(learning: dict[str, np.ndarray], title: str, path: Path) -> None:
    """The first layer's weights as images: a linear layer's, one tile per unit; a conv layer's filters, beside one
    test image and the feature maps they make of it."""
    if "first_layer" in learning:
        tiles, columns = learning["first_layer"], 8
        figure, axes = plt.subplots(figsize=(8, 1.05 * -(-len(tiles) // columns) + 0.5))
        _signed_tiles(axes, tiles, columns)
        axes.set_title(f"{title}: first-layer weights of units 1-{len(tiles)} (red > 0, blue < 0)", fontsize=10)
        fill_under_title(figure)
        save(figure, path)
        return
    filters, maps = learning["filters"], learning["feature_maps"]
    figure, (image, kernels, outputs) = plt.subplots(
        1, 3, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 1.6, 1.6]}
    )
    image.imshow(learning["feature_image"], cmap="gray")
    image.set_title("a test image", fontsize=9)
    image.axis("off")
    columns = -(-len(filters) // 2)
    _signed_tiles(kernels, filters, columns)
    kernels.set_title(f"the {len(filters)} filters of the first conv layer", fontsize=9)
    _signed_tiles(outputs, maps, columns)
    outputs.set_title("what each makes of the image", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.82, wspace=0.05)
    save(figure, path)


def mistakes(predictions: dict[str, np.ndarray], title: str, path: Path) -> None:
    """Misclassified test images, each with its true class and the net's three likeliest guesses."""
    images, names = predictions["mistake_images"], predictions["classes"]
    columns = 8
    rows = max(1, -(-len(images) // columns))
    height, width = images.shape[1:3]
    cell_h, cell_w = height * 2, width + 4  # room for four lines under each image
    figure, axes = plt.subplots(figsize=(columns * 1.3, rows * 2.1 + 0.4))
    if len(images):
        axes.imshow(np.ma.masked_invalid(mosaic(images, columns, cell_h, cell_w)), cmap="gray")
    else:
        axes.text(0.5, 0.5, "no test image misclassified", ha="center", transform=axes.transAxes)
    truths, tops, chances_of = (predictions[f"mistake_{key}"] for key in ("true", "top", "probabilities"))
    rows_of = zip(truths, tops, chances_of, strict=True)
    for index, (truth, top, chances) in enumerate(rows_of):
        row, column = divmod(index, columns)
        x, y = column * cell_w + width / 2, row * cell_h + height + 0.5
        guesses = "\n".join(f"{names[guess]} {chance:.0%}" for guess, chance in zip(top, chances, strict=True))
        axes.text(x, y, f"true {names[truth]}", ha="center", va="top", fontsize=7, color="green")
        axes.text(x, y + height * 0.3, guesses, ha="center", va="top", fontsize=6.5, color="firebrick")
    if len(images):
        axes.set_ylim(rows * cell_h, -1)
    axes.axis("off")
    axes.set_title(f"{title}: misclassified test images, their true class and the net's top 3 guesses", fontsize=10)
    fill_under_title(figure)
    save(figure, path)


def dynamics(table: dict[str, np.ndarray], probe_rows: int, best_epoch: int | None, title: str, path: Path) -> None:
    """Per layer over the recorded epochs: the weight norm, the gradient norm, and the share of dead ReLU units
    (on the first `probe_rows` train rows); with early stopping, a line at the epoch it kept."""
    panels = [("weight_norm", "weight norm"), ("grad_norm", "gradient norm (an epoch's last batch)")]
    if np.isfinite(table["dead"]).any():
        panels.append(("dead", f"dead ReLU share (first {probe_rows} train rows)"))
    figure, grid = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    # The top margin leaves room for a title that an axis' power of ten (1e-5 above its ticks) pushes up.
    figure.subplots_adjust(left=0.22 / len(panels), right=0.98, bottom=0.15, top=0.86, wspace=0.25)
    layers = list(dict.fromkeys(table["layer"].tolist()))
    plain = StrMethodFormatter("{x:g}")  # a log axis labels 10^k in mathtext by default, slow to draw
    for axes, (key, label) in zip(grid[0], panels, strict=True):
        for layer in layers:
            rows = (table["layer"] == layer) & np.isfinite(table[key])
            if rows.any():
                axes.plot(table["epoch"][rows], table[key][rows], label=layer)
        axes.set(xlabel="epoch", title=f"{title}: {label}" if key == "weight_norm" else label)
        if table["epoch"].max() > 100:
            axes.set_xscale("log")
            axes.xaxis.set_major_formatter(plain)
            axes.xaxis.set_minor_locator(NullLocator())  # a log axis' minor ticks are most of its drawing time
        if key == "dead":
            axes.set_ylim(-0.02, 1.02)
        if best_epoch:
            axes.axvline(best_epoch, color="gray", linestyle="--", linewidth=1, label="kept (early stopping)")
        axes.grid(alpha=0.3)
    grid[0, 0].legend(fontsize=7)
    save(figure, path)


def output_names(learning: dict[str, np.ndarray], predictions: dict[str, np.ndarray]) -> list[str]:
    """What each of the network's outputs is: a class, a two-class net's one output (bce_with_logits) the second
    class's score, a regressor's outputs numbered."""
    outputs = learning[f"network_{sum(key.startswith('network_') for key in learning)}"].shape[0]
    classes = predictions["classes"].tolist() if "classes" in predictions else []
    if len(classes) == outputs:
        return classes
    if classes and outputs == 1:
        return [f"{classes[1]} (score)"]
    return ["output"] if outputs == 1 else [f"output {index + 1}" for index in range(outputs)]


def draw_learning(
    name: str,
    learning: dict[str, np.ndarray],
    dynamics_table: dict[str, np.ndarray],
    curve: dict[str, np.ndarray],
    predictions: dict[str, np.ndarray],
    best_epoch: int | None,
    folder: Path,
) -> None:
    """Every learning figure the dataset's net and data allow, into `folder` (`best_epoch`: the one early
    stopping kept, if it ran)."""
    dynamics(dynamics_table, int(learning["dead_probe_rows"]), best_epoch, name, folder / "dynamics.png")
    if "frames" in learning:
        training_gif(learning, curve, (predictions["x_test"], predictions["y_true"]), name, folder / "training.gif")
    if "neuron_layers" in learning:
        neurons(learning, name, folder / "neurons.png")
    if "network_1" in learning:
        inputs = predictions["feature_names"].tolist() if "feature_names" in predictions else []
        inputs = inputs or [f"x{index + 1}" for index in range(learning["network_1"].shape[1])]
        network(learning, inputs, output_names(learning, predictions), name, folder / "network.png")
    if "images" in predictions and ("first_layer" in learning or "filters" in learning):
        first_layer(learning, name, folder / "first_layer.png")
    if "mistake_images" in predictions:
        mistakes(predictions, name, folder / "mistakes.png")

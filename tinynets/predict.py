"""Predictions from a trained model for new rows (a CSV with the dataset's columns), images (PNG, JPEG), or a
series' recent steps (a forecaster: the next `horizon` values from the last `window` rows).

The model file holds its declaration and weights; data/features/<dataset>.json holds the fitted scalers,
the one-hot categories and the class names, so the new inputs are prepared exactly as the training data
were. Runs on the CPU, whatever device trained the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinynets.common import contracts, paths
from tinynets.common.errors import DataError
from tinynets.evaluation.decisions import class_probabilities, predicted_labels
from tinynets.preprocess import from_stats, inputs
from tinynets.tables import check_filled, check_scaled, file_lines, numbers, read_csv

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def saved_model(name: str, root: Path) -> tuple[dict, dict]:
    """The model file's contents and the features' description of a dataset trained in the project at `root`."""
    where = paths.of(name)
    model_path, info_path = where.model, where.feature_info
    if not (root / model_path).exists() or not (root / info_path).exists():
        raise DataError(f"dataset {name!r} is not trained yet ({model_path} is missing): run `dvc repro` first")
    from tinynets.modelfile import load_model

    return load_model(root / model_path), contracts.read(contracts.FEATURE_INFO, root / info_path)


def read_rows(given: list[Path], info: dict):
    """The rows of CSV files, as read (text), checked against the columns the model was trained on."""
    needed = info["columns"] + info["text_columns"]
    frames = []
    for path in given:
        if path.suffix.lower() != ".csv":
            raise DataError(f"{path}: the model reads table rows; give a .csv file with the columns {needed}")
        frame = read_csv(path)
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r} (the model needs: {', '.join(needed)})")
        extra = [column for column in frame.columns if column not in (*needed, info["target_column"])]
        if extra:
            raise DataError(f"{path}: column {extra[0]!r} is not one the model knows (it needs: {', '.join(needed)})")
        frame.attrs["path"] = path
        frames.append(frame)
    return frames


def table_features(frames, info: dict) -> np.ndarray:
    """The rows' features: numeric columns parsed and scaled, text columns one-hot encoded."""
    blocks = []
    for frame in frames:
        path, lines = frame.attrs["path"], file_lines(frame)
        check_filled(path, frame[info["columns"] + info["text_columns"]], lines)
        columns = [numbers(path, frame[column], column, lines) for column in info["columns"]]
        x = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
        with np.errstate(over="ignore"):  # an overflow is refused just below, naming the value
            block = inputs(x, frame[info["text_columns"]].to_numpy(dtype=str), info)
        check_scaled(path, block, info["columns"], lines, frame)
        blocks.append(block)
    return np.concatenate(blocks)


def image_pixels(given: list[Path], shape: tuple[int, int]) -> np.ndarray:
    """Images as grayscale uint8 pixels of the training images' size; square images of another size are resized."""
    from PIL import Image, UnidentifiedImageError

    height, width = shape
    pixels = []
    for path in given:
        try:
            with Image.open(path) as image:
                gray = image.convert("L")
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except (UnidentifiedImageError, OSError):
            raise DataError(f"{path}: not an image (give PNG or JPEG files)") from None
        if gray.size != (width, height):
            if gray.width != gray.height:
                raise DataError(
                    f"{path}: {gray.width}x{gray.height} pixels; the model reads {width}x{height} images "
                    "(square ones of any size are resized)"
                )
            gray = gray.resize((width, height), Image.Resampling.LANCZOS)
        pixels.append(np.asarray(gray, dtype=np.uint8))
    return np.stack(pixels)


def recent_window(given: list[Path], info: dict) -> np.ndarray:
    """The last `window` steps of a CSV of a series' recent rows (in time order when it has the time column, else
    in file order), scaled as the series was: (1, window, columns). Other columns, such as the source's unused
    ones, are ignored."""
    window, columns = info["forecast"]["window"], info["columns"]
    if len(given) != 1 or given[0].suffix.lower() != ".csv":
        raise DataError(f"a forecast reads one .csv file of the series' last {window} or more steps ({columns})")
    path = given[0]
    frame = read_csv(path)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r} (the model needs: {', '.join(columns)})")
    lines = file_lines(frame)
    time, missing = info["forecast"]["time"], info["forecast"].get("missing", "error")
    if time in frame.columns:  # the last steps in time, as training ordered them; else the file's last rows
        from tinynets.series import time_order

        order = time_order(path, frame[time], lines)
        frame, lines = frame.iloc[order], lines[order]
    values = frame[columns]
    if missing == "drop":  # as training did: a step with a gap is left out
        kept = values.notna().all(axis=1).to_numpy()
        values, lines = values[kept], lines[kept]
    elif missing == "interpolate":  # between two values, as training did; the last step must be observed
        from tinynets.series import interpolated

        values = values.apply(interpolated)
    if len(values) < window:
        counted = f"{len(values)} rows" + (" without a gap" if len(values) < len(frame) else "")
        raise DataError(f"{path}: {counted}, but the model forecasts from the last {window} steps")
    recent, lines = values.iloc[-window:], lines[-window:]
    needed = "a value on each side of a gap" if missing == "interpolate" else "every one of the last steps"
    check_filled(path, recent, lines, f" (a forecast needs {needed})")
    x = np.column_stack([numbers(path, recent[column], column, lines) for column in columns])
    with np.errstate(over="ignore"):  # an overflow is refused just below, naming the value
        scaled = inputs(x, None, info)
    check_scaled(path, scaled, columns, lines, recent)
    return scaled[np.newaxis]


def predict_files(name: str, given: list[Path], root: Path = Path()) -> str:
    """The CSV of predictions for the files `given` to a model of the project at `root`: the input's columns (or file
    names), `predicted`, then `p_<class>`; for a forecast, `step` and `predicted` per step ahead."""
    import pandas as pd
    import torch

    from tinynets.inference import eval_outputs
    from tinynets.models import trained_model

    saved, info = saved_model(name, root)
    shape = tuple(saved["input_shape"])
    if "forecast" in info:
        features = recent_window(given, info)
        table = pd.DataFrame({"step": range(1, info["forecast"]["horizon"] + 1)})
        origins = [str(given[0])]
    elif info["inputs"] == "images":
        features = image_pixels(given, shape)
        table = pd.DataFrame({"file": [str(path) for path in given]})
        origins = table["file"].tolist()
    else:
        frames = read_rows(given, info)
        features = table_features(frames, info)
        table = pd.concat(frames, ignore_index=True)
        origins = [f"{frame.attrs['path']}, line {line}" for frame in frames for line in file_lines(frame)]
    model = trained_model(saved)
    outputs = eval_outputs(model, torch.from_numpy(features)).numpy()
    finite = np.isfinite(outputs).all(axis=tuple(range(1, outputs.ndim)))
    if not finite.all():
        origin = origins[int(np.argmin(finite))]
        raise DataError(f"{origin}: the model's output is not a finite number (inputs far outside its training data)")
    if "classes" in info:
        classes = info["classes"]
        table["predicted"] = np.array(classes)[predicted_labels(outputs, saved["loss"])]
        for index, probability in enumerate(class_probabilities(outputs, saved["loss"]).T):
            table[f"p_{classes[index]}"] = probability
    elif "forecast" in info:  # one row per step ahead
        table["predicted"] = from_stats(info["target_scaler"]).inverse(outputs)[0]
    else:
        values = from_stats(info["target_scaler"]).inverse(outputs)
        names = info["target_names"] if len(info["target_names"]) == values.shape[1] else []
        if values.shape[1] == 1:
            table["predicted"] = values[:, 0]
        for index in range(values.shape[1] if values.shape[1] > 1 else 0):
            table[f"predicted_{names[index] if names else index}"] = values[:, index]
    return table.to_csv(index=False, float_format="%.6g", lineterminator="\n")

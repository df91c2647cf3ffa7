"""A table of our own making for the csv source: text labels, a text feature column, missing values."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLUMNS = ["rooms", "area_m2", "year_built", "district", "price_band"]
DISTRICTS = ["harbour", "old town", "hills", "fields"]


def houses(rows: int = 400, seed: int = 0) -> list[list[str]]:
    """Rows of a made-up housing table: the price band follows area, rooms and district."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 7, rows)
    area = np.round(rooms * 22 + rng.normal(0, 12, rows), 1)
    year = rng.integers(1900, 2024, rows)
    district = rng.integers(0, len(DISTRICTS), rows)
    score = area / 30 + (district == 0) * 1.5 + (district == 1) * 1.0 - (district == 3) * 1.0 + rng.normal(0, 0.4, rows)
    band = np.where(score < 3, "cheap", np.where(score < 4.5, "mid", "expensive"))
    table = [
        [str(r), str(a), str(y), DISTRICTS[d], b]
        for r, a, y, d, b in zip(rooms, area, year, district, band, strict=True)
    ]
    for row, column in zip(rng.integers(0, rows, 12), rng.integers(0, 4, 12), strict=True):
        table[row][column] = ""  # a missing value
    return table


def write_csv(path: Path, rows: list[list[str]], columns: list[str] = COLUMNS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(f'"{value}"' if " " in value else value for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


HOUSES_PARAMS = {
    "data": {
        "source": "csv",
        "path": "data/own/houses.csv",
        "target": "price_band",
        "missing": "drop",
        "split": {"test_size": 0.25, "random_state": 0, "stratify": True},
        "scaler": "standard",
    },
    "model": {"layers": ["auto", 16, "auto"]},
    "train": {"epochs": 300, "optimizer": {"name": "adam"}, "lr": 0.01, "loss": "cross_entropy"},
}

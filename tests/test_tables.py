"""A user's CSV: every bad file is one line naming the file and what is wrong, and where."""

import re

import numpy as np
import pytest
from own_data import COLUMNS, houses, write_csv

from tinynets import sources
from tinynets.common.contracts import FEATURE_INFO
from tinynets.common.errors import DataError
from tinynets.params import CsvData


def load(path, **data):
    config = CsvData(source="csv", path="data/own/houses.csv", target="price_band", **{"missing": "drop", **data})
    return sources.load(config.model_copy(update={"path": str(path)}), seed=0, name="houses", classify=True)


def test_text_labels_become_sorted_class_names_and_text_columns_stay_apart(tmp_path):
    raw = load(write_csv(tmp_path / "houses.csv", houses()))
    assert raw.target_names == ("cheap", "expensive", "mid")
    assert raw.feature_names == ("rooms", "area_m2", "year_built") and raw.text_names == ("district",)
    assert raw.x_train.shape[1] == 3 and raw.text_train.shape[1] == 1
    assert len(raw.x_train) + len(raw.x_test) == 400 - len({r for r, row in enumerate(houses()) if "" in row})


def rows_with(row: int, column: str, value: str) -> list[list[str]]:
    table = [[cell or "1" for cell in line] for line in houses()]  # no missing values
    table[row][COLUMNS.index(column)] = value
    return table


BAD = [
    ("missing file", None, {}, "no such file"),
    ("missing target column", COLUMNS[:-1], {}, "no column 'price_band'"),
    ("missing feature column", None, {"features": ["rooms", "floor"]}, "no column 'floor'"),
    ("not a number", rows_with(6, "area_m2", "big"), {}, "column 'area_m2', line 8: 'big' is not a number"),
    ("missing value", rows_with(9, "rooms", ""), {"missing": "error"}, "column 'rooms', line 11: missing value"),
    ("infinite", rows_with(4, "area_m2", "-inf"), {}, "column 'area_m2', line 6: '-inf' is not a finite number"),
    ("empty table", [], {}, "no rows to learn from"),
    ("a single class", [[*row[:4], "mid"] for row in rows_with(0, "rooms", "2")], {}, "holds a single class (mid)"),
]


@pytest.mark.parametrize(("rows", "data", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_file_is_one_line_naming_the_file_and_the_problem(tmp_path, rows, data, message):
    path = tmp_path / "houses.csv"
    if rows is not None and rows and isinstance(rows[0], str):  # a header without a column
        write_csv(path, [line[: len(rows)] for line in houses()], columns=rows)
    elif rows is not None:
        write_csv(path, rows)
    elif "features" in data:
        write_csv(path, houses())
    with pytest.raises(DataError) as error:
        load(path, **data)
    assert str(error.value).startswith(str(path)) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_lines_are_the_files_own_when_blank_lines_stand_between_rows(tmp_path):
    path = tmp_path / "houses.csv"
    write_csv(path, rows_with(6, "area_m2", "big"))
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header, "", *rows[:3], "", "", *rows[3:]]) + "\n")  # row 6 is now on line 11
    with pytest.raises(DataError, match="column 'area_m2', line 11: 'big' is not a number"):
        load(path)


def featurized(raw, classes):
    from tinynets.common.settings import Settings
    from tinynets.preprocess import featurize

    arrays = {key: np.asarray(value) for key, value in raw.fields().items() if value is not None}
    data = {"scaler": "minmax", "target_scaler": "none", "classes": classes, "target": "price_band"}
    return featurize(arrays, Settings({"data": data, "loss": "cross_entropy", "inputs": "rows"}), "houses")


def test_classes_that_are_the_labels_number_them_by_name(tmp_path):
    raw = load(write_csv(tmp_path / "houses.csv", houses()))
    as_read, _ = featurized(raw, None)
    reordered, info = featurized(raw, ["cheap", "mid", "expensive"])  # sorted they are cheap, expensive, mid
    assert info["classes"] == ["cheap", "mid", "expensive"]
    assert FEATURE_INFO.mismatch(info | {"made_from": "its prepare settings"}) is None  # a table's, as declared
    names = np.array(info["classes"])[reordered["y_test"]]
    assert names.tolist() == np.array(["cheap", "expensive", "mid"])[as_read["y_test"]].tolist()  # same label per row


def test_classes_that_name_some_labels_but_not_others_are_refused_in_one_line(tmp_path):
    from tinynets.common.errors import ConfigError
    from tinynets.common.facts import renaming

    raw = load(write_csv(tmp_path / "houses.csv", houses()))
    message = (
        "datasets.houses.data.classes: 'middle' is not one of the data's labels, cheap (0), expensive (1), mid (2)"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        featurized(raw, ["cheap", "expensive", "middle"])
    assert renaming(["low", "high", "medium"], raw.target_names) == (
        "data.classes renames the data's labels by their numbers: "
        "cheap (0) as low, expensive (1) as high, mid (2) as medium"
    )

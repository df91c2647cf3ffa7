"""Using a trained model: `tinynets predict` on new rows and images, and ONNX export with its parity check."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run, tool_env
from PIL import Image

pytestmark = pytest.mark.slow

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def tinynets(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tinynets", *args], cwd=repo, env=tool_env(repo), capture_output=True, text=True)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def correctly_predicted(repo: Path, name: str) -> np.ndarray:
    """Indices of test samples the pipeline itself got right, with their true class names."""
    predictions = np.load(repo / f"data/predictions/{name}.npz")
    return np.flatnonzero(predictions["y_true"] == predictions["y_pred"])


def test_iris_rows_come_back_with_their_species(pipeline, tmp_path):
    prepared = np.load(pipeline / "data/prepared/iris.npz")
    right = correctly_predicted(pipeline, "iris")[:6]
    species = np.array(json.loads((pipeline / "metrics/iris.json").read_text())["classes"])
    path = tmp_path / "rows.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(IRIS_COLUMNS)
        writer.writerows(prepared["x_test"][right].tolist())
    result = tinynets(pipeline, "predict", "iris", str(path), "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    predicted = rows((tmp_path / "out.csv").read_text())
    assert [row["predicted"] for row in predicted] == species[prepared["y_test"][right]].tolist()
    assert list(predicted[0]) == [*IRIS_COLUMNS, "predicted", "p_setosa", "p_versicolor", "p_virginica"]
    assert all(abs(sum(float(row[f"p_{name}"]) for name in species) - 1) < 1e-4 for row in predicted)
    assert rows(tinynets(pipeline, "predict", "iris", str(path)).stdout) == predicted  # without -o: printed


def iris_rows_file(repo: Path, path: Path) -> Path:
    """A CSV of a few iris test rows, as a user would write them."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(IRIS_COLUMNS)
        writer.writerows(np.load(repo / "data/prepared/iris.npz")["x_test"][:4].tolist())
    return path


def test_predict_finds_the_project_from_a_folder_inside_it(pipeline, tmp_path):
    path = iris_rows_file(pipeline, tmp_path / "rows.csv")
    from_root = tinynets(pipeline, "predict", "iris", str(path))
    from_data = tinynets(pipeline / "data", "predict", "iris", str(path))
    assert from_data.returncode == 0, from_data.stderr
    assert from_data.stdout == from_root.stdout and len(rows(from_data.stdout)) == 4
    outside = tinynets(tmp_path, "predict", "iris", str(path))
    assert outside.returncode == 2 and "is not inside a tinynets project" in outside.stderr


def test_a_built_wheel_installs_with_its_dependencies_into_an_empty_venv_and_predicts(pipeline, tmp_path):
    source = tmp_path / "source"
    for name in ("tinynets", "pyproject.toml"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name if copy is shutil.copytree else source)
    pip = ["-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [sys.executable, *pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, source], check=True
    )
    (wheel,) = tmp_path.glob("tinynets-*.whl")
    venv = tmp_path / "venv"  # empty: pip installs what the wheel declares, from the package registry
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin/python", *pip, "install", wheel], check=True)
    env = {key: value for key, value in tool_env(pipeline).items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    path = iris_rows_file(pipeline, tmp_path / "rows.csv")
    result = subprocess.run(
        ["tinynets", "predict", "iris", path], cwd=pipeline, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == rows(tinynets(pipeline, "predict", "iris", str(path)).stdout)
    where = subprocess.run(
        ["python", "-c", "import tinynets.training.loop as m; print(m.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv))


def test_every_pin_satisfies_what_the_wheel_declares():
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[name.lower()] = version
    declared = [
        Requirement(text) for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    assert declared and all(requirement.specifier.contains(pins[requirement.name.lower()]) for requirement in declared)


def test_mnist_images_saved_as_png_come_back_with_their_digits(pipeline, tmp_path):
    features = np.load(pipeline / "data/features/mnist.npz")
    right = correctly_predicted(pipeline, "mnist")[:5]
    paths = []
    for index in right:
        paths.append(tmp_path / f"digit{index}.png")
        Image.fromarray(features["x_test"][index]).save(paths[-1])
    big = tmp_path / "big.png"  # a square image of another size is resized
    Image.fromarray(features["x_test"][right[0]]).resize((56, 56)).save(big)
    result = tinynets(pipeline, "predict", "mnist", *map(str, [*paths, big]))
    assert result.returncode == 0, result.stderr
    predicted = [row["predicted"] for row in rows(result.stdout)]
    expected = [str(features["y_test"][index]) for index in right]
    assert predicted[:-1] == expected and predicted[-1] == expected[0]


@pytest.mark.parametrize(
    ("dataset", "content", "message"),
    [
        ("iris", "sepal length (cm),sepal width (cm),petal length (cm)\n1,2,3\n", "no column 'petal width (cm)'"),
        ("iris", ",".join([*IRIS_COLUMNS, "colour"]) + "\n1,2,3,4,red\n", "column 'colour' is not one the model knows"),
        ("iris", ",".join(IRIS_COLUMNS) + "\n1,2,x,4\n", "column 'petal length (cm)', line 2: 'x' is not a number"),
        ("wine", ",".join(IRIS_COLUMNS) + "\n1,2,3,4\n", "dataset 'wine' is not trained yet"),
        (
            "iris",
            ",".join(IRIS_COLUMNS) + "\n1,2,3,4\n1,-inf,3,4\n",
            "column 'sepal width (cm)', line 3: '-inf' is not a",
        ),
        (
            "iris",
            ",".join(IRIS_COLUMNS) + "\n1,2,1e308,4\n",
            "column 'petal length (cm)', line 2: '1e308' is too large",
        ),
        ("sum30", ",".join(f"x{i}" for i in range(1, 31)) + "\n" + ",".join(["3e38"] * 30) + "\n", "line 2: the model"),
        ("iris", ",".join(IRIS_COLUMNS) + "\n1,2,3,4\n\ninf,2,3,4\n", "column 'sepal length (cm)', line 4: 'inf'"),
    ],
    ids=[
        "missing column",
        "extra column",
        "not a number",
        "not trained",
        "infinite",
        "overflows",
        "output overflows",
        "after a blank line",
    ],
)
def test_bad_input_is_one_line_and_exit_2(pipeline, tmp_path, dataset, content, message):
    path = tmp_path / "rows.csv"
    path.write_text(content)
    result = tinynets(pipeline, "predict", dataset, str(path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_a_file_of_no_rows_gives_the_header_of_no_predictions(pipeline, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(",".join(IRIS_COLUMNS) + "\n")
    result = tinynets(pipeline, "predict", "iris", str(path))
    assert result.returncode == 0 and result.stdout.splitlines() == [
        ",".join([*IRIS_COLUMNS, "predicted", "p_setosa", "p_versicolor", "p_virginica"])
    ]


def test_an_image_of_a_shape_it_cannot_fix_is_refused(pipeline, tmp_path):
    Image.new("L", (28, 40)).save(tmp_path / "tall.png")
    result = tinynets(pipeline, "predict", "mnist", str(tmp_path / "tall.png"))
    assert result.returncode == 2 and "28x40 pixels; the model reads 28x28 images" in result.stderr


def test_exp_run_exports_onnx_models_that_match_torch(workspace):
    run(workspace, "dvc", "exp", "run", "-S", "export=[iris,mnist]")
    for name in ("iris", "mnist"):
        assert (workspace / f"models/{name}.onnx").stat().st_size > 0
        parity = json.loads((workspace / f"models/{name}.onnx.json").read_text())
        assert parity["onnx_max_abs_diff"] <= 1e-4 and parity["onnx_rows_checked"] > 0
        ignored = run(workspace, "git", "check-ignore", "-q", f"models/{name}.onnx.json", check=False)
        assert ignored.returncode == 1  # git keeps the parity figures, as it keeps metrics/

"""The package's shape: no module imports, directly or through others, a module that imports it."""

from __future__ import annotations

import shutil
from graphlib import CycleError, TopologicalSorter

import pytest
from conftest import ROOT
from imports import package_imports


def test_no_import_cycle_in_the_package():
    TopologicalSorter(package_imports(ROOT)).prepare()  # raises CycleError naming the cycle


def test_a_cycle_through_a_type_only_import_is_caught(tmp_path):
    shutil.copytree(ROOT / "tinynets", tmp_path / "tinynets")
    steps = tmp_path / "tinynets/training/steps.py"
    run_type = "if TYPE_CHECKING:\n    from tinynets.training.loop import Run\n"  # what make_step once took
    steps.write_text(steps.read_text().replace("if TYPE_CHECKING:\n", run_type))
    with pytest.raises(CycleError) as caught:
        TopologicalSorter(package_imports(tmp_path)).prepare()
    assert "tinynets/training/steps.py" in caught.value.args[1]


def test_a_cycle_through_a_function_level_import_is_caught(tmp_path):
    shutil.copytree(ROOT / "tinynets", tmp_path / "tinynets")
    errors = tmp_path / "tinynets/common/errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _late():\n    from tinynets import checks\n")
    with pytest.raises(CycleError) as caught:
        TopologicalSorter(package_imports(tmp_path)).prepare()
    assert "tinynets/common/errors.py" in caught.value.args[1]

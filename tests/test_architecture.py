"""ARCHITECTURE.md tells the truth: every module it names exists, every module is named, its glossary's words
are the code's, and no module imports from a layer above its own."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import ROOT, run
from imports import package_imports

PAGE = (ROOT / "ARCHITECTURE.md").read_text()


def section(title: str) -> str:
    return PAGE.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def modules() -> set[str]:
    found = {*ROOT.glob("tinynets/**/*.py"), *ROOT.glob("stages/*.py")}
    return {path.relative_to(ROOT).as_posix() for path in found if path.name != "__init__.py"}


def test_every_module_it_names_exists_and_every_module_is_named():
    named = set(re.findall(r"`((?:tinynets|stages)/[\w/]+\.py)`", PAGE))
    assert named - modules() == set(), "named, but no such module"
    assert modules() - named == set(), "a module ARCHITECTURE.md does not name"


def defined(name: str) -> bool:
    """Whether a name of the code is defined in tinynets/: `f`, `module.f`, `Class.field` or `module.Class.f` (a
    def, a class, a field or a module-level name; a bare module name too)."""
    *owners, last = name.split(".")
    definition = re.compile(rf"^\s*(def|class) {last}\b|^\s*{last}\s*[:=]", re.MULTILINE)
    for path in ROOT.glob("tinynets/**/*.py"):
        scope = path.read_text()
        if path.stem == last and not owners:
            return True
        for owner in owners:
            if path.stem == owner:
                continue
            found = re.search(rf"^class {owner}\b.*?(?=^\S|\Z)", scope, re.MULTILINE | re.DOTALL)
            if not found:
                break
            scope = found.group(0)
        else:
            if definition.search(scope):
                return True
    return False


def test_the_glossarys_words_are_the_codes():
    rows = [line.split("|")[1:4] for line in section("Glossary").splitlines() if line.startswith("| ")][1:]
    assert len(rows) >= 10
    for word, _, in_code in rows:
        names = re.findall(r"`([\w.]+)`", in_code)
        assert names, f"{word.strip()}: no name in the code"
        assert [name for name in names if not defined(name)] == [], word


def test_each_rule_lives_where_it_says():
    rows = [line.split("|")[1:3] for line in section("Where each rule lives").splitlines() if line.startswith("| ")]
    stems = {path.stem for path in ROOT.glob("tinynets/**/*.py")}
    named = [name for _, place in rows[2:] for name in re.findall(r"`([\w.]+\.[\w.]+)`", place)]
    places = [name for name in named if name.split(".")[0] in stems]  # not the params keys beside them
    assert len(places) >= 10
    assert [name for name in places if not defined(name)] == []


def test_a_made_up_name_is_not_defined():
    assert defined("runner.Job.of") and defined("Run.records") and defined("shapes")
    assert not defined("runner.Job.fly") and not defined("Run.recordz") and not defined("facts.hold_out")


def layer_of(path: str, layers: list[list[str]]) -> int:
    """The index of the layer a module belongs to (0: the top)."""
    parts = path.removeprefix("tinynets/").removesuffix(".py").removesuffix("/__init__").split("/")
    for index, names in enumerate(layers):
        if parts[0] in names or f"{parts[0]}/" in names:
            return index
    raise AssertionError(f"{path} is in no layer of ARCHITECTURE.md")


def test_no_module_imports_from_a_layer_above_its_own():
    rows = [line for line in section("Layers").splitlines() if line.startswith("| ") and "`" in line]
    layers = [re.findall(r"`([\w/]+)`", line.split("|")[2]) for line in rows[1:]]  # the stages row aside
    upward = [
        f"{source} imports {target}"
        for source, targets in package_imports(ROOT).items()
        if source != "tinynets/__init__.py"
        for target in targets
        if target != "tinynets/__init__.py" and layer_of(target, layers) < layer_of(source, layers)
    ]
    assert upward == []


@pytest.mark.slow
def test_the_train_stages_walk_is_short(workspace):
    """The train stage's script and the calls it makes, two levels down, module by module: at most 20 stops, no
    module entered more than twice (tools/walk.py; 40 stops, common/artifacts entered 9 times, before issue 28)."""
    walked = run(workspace, sys.executable, str(ROOT / "tools/walk.py"), "iris").stdout
    stops, entered = map(
        int, re.search(r"(\d+) stops in \d+ modules; most entered: \S+ \((\d+) times\)", walked).groups()
    )
    assert "stages/train: train" in walked and "tinynets/training/runner: " in walked
    assert stops <= 20 and entered <= 2, walked

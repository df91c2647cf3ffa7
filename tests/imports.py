"""The project's imports as its source states them (every branch, function-level imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT


def imported_modules(path: Path, root: Path = ROOT, type_only: bool = False) -> set[str]:
    """The modules a file imports anywhere (in functions too); those under `if TYPE_CHECKING:` with `type_only`."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        type_checking = isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        if type_checking and not type_only:
            return  # never runs
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The project file of a module name, if it is one of ours."""
    path = root / Path(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def import_closure(module: str, cut: str | None = None) -> set[str]:
    """The project files a stage module runs: its own and every project module it imports, transitively (but
    module `cut` and what only it imports)."""
    todo, seen = [module_file(module)], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            parts = name.split(".")
            for end in range(1, len(parts) + 1):  # a module's packages run first: their __init__.py too
                if ".".join(parts[:end]) == cut:
                    break
                found = module_file(".".join(parts[:end]))
                if found is not None:
                    todo.append(found)
    return {path.relative_to(ROOT).as_posix() for path in seen}


def package_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of the tinynets package under `root`, by path, and the package's modules it imports (for type
    hints alone too: a reader follows those as well)."""
    graph = {}
    for path in sorted((root / "tinynets").rglob("*.py")):
        found = set()
        for name in imported_modules(path, root, type_only=True):
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                target = module_file(".".join(parts[:end]), root)
                if target is not None and target != path:
                    found.add(target.relative_to(root).as_posix())
        graph[path.relative_to(root).as_posix()] = found
    return graph

"""The layering contract of pyproject.toml (``[tool.importlinter]``): each package imports only
from the layers below it, the packages of one layer do not import each other, and no modules
import each other in a circle. Every import statement counts, those inside functions too (the
heavy imports are deferred there), and no module imports another by a name given at run time."""

import ast
import graphlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTRACT = PYPROJECT["tool"]["importlinter"]
PACKAGES = CONTRACT["root_packages"]
LAYERS = next(c["layers"] for c in CONTRACT["contracts"] if c["type"] == "layers")
"""Top to bottom; ``a | b``: independent packages of one layer."""


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _trees():
    for name, path in MODULES.items():
        yield name, path, ast.parse(path.read_text(), str(path))


def _imports(name: str, path: Path, tree: ast.Module) -> list[tuple[str, int]]:
    """(module of the packages, line) of each import in the module ``name``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *filter(None, [base])])
            targets = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names}
        else:
            continue
        found += [(t, node.lineno) for t in targets if t.split(".")[0] in PACKAGES]
    return found


def test_the_contract_places_every_package_once():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(PACKAGES) == sorted(p.rstrip("*") for p in include)
    placed = [p.strip() for layer in LAYERS for p in layer.split("|")]
    assert sorted(placed) == sorted(PACKAGES)


def test_packages_import_only_from_lower_layers():
    layer = {p.strip(): i for i, names in enumerate(LAYERS) for p in names.split("|")}
    wrong = []
    for name, path, tree in _trees():
        here = name.split(".")[0]
        for target, line in _imports(name, path, tree):
            there = target.split(".")[0]
            if there != here and layer[there] <= layer[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against the layers of pyproject.toml:\n" + "\n".join(wrong)


def test_no_modules_import_each_other_in_a_circle():
    graph = {name: {t for t, _ in _imports(name, path, tree)} for name, path, tree in _trees()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        raise AssertionError(f"import circle: {' -> '.join(error.args[1])}") from None


def test_no_module_imports_by_a_run_time_name():
    calls = [f"{path.relative_to(ROOT)}:{node.lineno}" for _, path, tree in _trees()
             for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", getattr(node.func, "id", None))
             in ("import_module", "__import__")]
    assert not calls, "imports the layering check cannot see:\n" + "\n".join(calls)

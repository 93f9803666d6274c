"""The package's shape, as the README describes it: layers that import one way, small modules, no private reach-ins.

Read with ``ast`` from the source tree, so the checks hold for imports inside function bodies too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mediationhte"
#: The analyses; the shared stages below never import them (nor the public api).
ANALYSES = {"api", "mediation", "mlearner", "cate", "crt", "dynamic"}
SHARED = {"core", "formula", "report", "inference", "subgroups", "datasets"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "data"):  # the bundled data folder, not code
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path):
    """(module imported, names imported, inside a function) for every import of a mediationhte module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inner = {id(node) for fn in functions for node in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (use absolute mediationhte.* imports)")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mediationhte"):
            yield node.module, [a.name for a in node.names], id(node) in inner
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mediationhte"):
                    yield alias.name, [], id(node) in inner


def _target(module: str, name: str) -> str | None:
    """The package module an import refers to (``from pkg import mod`` names a module)."""
    if f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for module, names, _ in _imports(path):
            for target in [_target(module, n) for n in names] or [_target(module, "")]:
                if target and target != name and not (path.name == "__init__.py" and target.startswith(name + ".")):
                    deps.add(target)
        graph[name] = deps
    return graph


def test_no_import_cycles():
    graph = _graph()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_top_level_has_few_modules_and_no_module_is_long():
    top = [p for p in PACKAGE.glob("*.py")]
    assert len(top) <= 10, sorted(p.name for p in top)
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 650}
    assert long == {}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_are_at_the_top_public_and_follow_the_layers(name):
    layer = name.split(".")[1] if name.count(".") else None
    for module, names, inside_function in _imports(MODULES[name]):
        assert not inside_function, f"{name} imports {module} inside a function"
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert private == [], f"{name} imports private names {private} from {module}"
        if layer in SHARED:
            imported_layer = module.split(".")[1] if module.count(".") else None
            assert imported_layer not in ANALYSES, f"shared stage {name} imports the analysis module {module}"

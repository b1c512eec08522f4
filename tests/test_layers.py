"""The layers hold: endpoints → providers → runs never import Gradio; their modules, the UI's (``components/``) and
the sandbox's import each other without cycles, every import at the top of its module (none hidden inside a
function, where a cycle would not show).

The graph is read from the source with ``ast``: every module of those packages, found by walking the folders (a
new module is checked without being listed here). Imports under ``if TYPE_CHECKING:`` count like any other: a
cycle that only type checkers follow is still two modules that cannot be read apart.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_GRADIO = ("endpoints", "providers", "runs")
PACKAGES = (*NO_GRADIO, "components", "sandbox")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {module_name(p): p for package in packages for p in sorted((ROOT / package).rglob("*.py"))}
    assert len(found) > 40, "the walk found the packages' modules"
    return found


def imports(path: Path, known: set[str]) -> list[tuple[str, bool, int]]:
    """(imported project module, at module level?, line) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def target(name: str) -> str | None:
        while name and name not in known:  # "runs.sweep.plan.SweepPlan" -> the module "runs.sweep.plan"
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if (t := target(alias.name)) is not None:
                        found.append((t, top, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + ([base] if base else []))
                for alias in child.names:
                    if (t := target(f"{base}.{alias.name}") or target(base)) is not None:
                        found.append((t, top, child.lineno))
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(tree, True)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for imported, _top, _line in imports(path, set(known)):
            if imported != name:
                edges[name].add(imported)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return groups


def test_no_module_of_the_lower_layers_imports_gradio():
    names = sorted(modules(NO_GRADIO))
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            "assert 'gradio' not in sys.modules, 'gradio imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_the_lower_layers_import_each_other_without_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(group) for group in found)


def test_every_import_of_a_project_module_sits_at_the_top_of_its_module():
    known = modules()
    hidden = [f"{path.relative_to(ROOT)}:{line} imports {imported}"
              for path in known.values() for imported, top, line in imports(path, set(known)) if not top]
    assert not hidden, "imports inside functions hide cycles: " + "; ".join(hidden)


def test_the_guard_sees_a_cycle_and_a_hidden_import(tmp_path):
    """The checks above can fail: a made-up pair of modules that import each other, one of them inside a function."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    import a\n")
    known = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        edges = {name: {m for m, _top, _line in imports(path, set(known))} for name, path in known.items()}
        assert cycles(edges) == [["a", "b"]]
        assert [top for _m, top, _line in imports(known["b"], set(known))] == [False]
    finally:
        ROOT = saved

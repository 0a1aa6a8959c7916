"""The shape of the code: no import cycles, and the from-scratch network imports only NumPy.

Both walk every import statement of the project's own modules, at module level and inside
functions alike (a lazy import still ties two modules together).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("model", "app")
TEXTBOOK_ALLOWED = ("__future__", "numpy", "typing", "collections.abc", "model.nn")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module `path` imports (absolute names), each `from a import b` resolved to a.b
    when that is a module of its own."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in modules
            )
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        name: {m for m in imports_of(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None (depth-first search)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_among_the_project_modules() -> None:
    graph = import_graph()
    assert len(graph) > 30  # the walk really found the project
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_model_never_imports_the_web_side() -> None:
    graph = import_graph()
    offenders = {
        name: sorted(m for m in targets if m.startswith("app"))
        for name, targets in graph.items()
        if name.startswith("model")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_textbook_network_imports_only_numpy_typing_helpers_and_itself() -> None:
    modules = project_modules()
    textbook = {name: path for name, path in modules.items() if name.startswith("model.nn")}
    assert {"model.nn.layers", "model.nn.mlp", "model.nn.activations"} <= set(textbook)
    for name, path in textbook.items():
        foreign = {
            m
            for m in imports_of(path, modules)
            if not any(m == allowed or m.startswith(allowed + ".") for allowed in TEXTBOOK_ALLOWED)
        }
        assert not foreign, f"{name} imports {sorted(foreign)}"

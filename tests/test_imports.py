"""The package's imports run one way: cli -> api -> runner -> (datasets, systems, metrics, statistics) ->
results/tables -> report, with no cycle, lazy imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "evalharness"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The evalharness modules a file imports anywhere in it (top level or inside a function)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            # `from evalharness import secrets` imports the module evalharness.secrets, not the package's API
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) - {name} for name, path in files.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def importers_of(target: str, edges: dict[str, set[str]]) -> set[str]:
    return {name for name, deps in edges.items() if target in deps}


def test_only_the_package_and_the_command_line_import_the_api():
    assert importers_of("evalharness.api", graph()) <= {"evalharness", "evalharness.cli"}


def test_nothing_imports_the_command_line():
    assert importers_of("evalharness.cli", graph()) <= {"evalharness.__main__"}


def test_the_lower_layers_never_import_the_upper_ones():
    edges = graph()
    upper = {"evalharness", "evalharness.cli", "evalharness.api", "evalharness.runner"}
    lower = [
        "evalharness.reporting.report",
        "evalharness.reporting.analysis",
        "evalharness.results",
        "evalharness.reporting.tables",
        "evalharness.reporting.plots",
        "evalharness.reporting.leaderboard",
        "evalharness.statistics.compare",
        "evalharness.statistics.significance",
        "evalharness.plan",
        "evalharness.config",
    ]
    lower += [
        name
        for name in edges
        if name.startswith(
            (
                "evalharness.datasets",
                "evalharness.systems",
                "evalharness.metrics",
                "evalharness.documents",
                "evalharness.executors",
            )
        )
    ]
    wrong = {name: sorted(edges[name] & upper) for name in lower if edges[name] & upper}
    assert not wrong, f"imports against the layering: {wrong}"

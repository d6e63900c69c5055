"""The package's imports run one way, lazy imports inside functions included: cli -> api -> runner -> (config,
plan) -> reporting -> results -> statistics -> (datasets, systems, metrics), with no cycle between modules and none
between folders (packages): a folder's modules may import one another, but two folders never import each other,
even through modules that do not form a cycle themselves."""

from __future__ import annotations

import ast
from functools import cache
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


@cache  # read-only: every test reads the same files
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
    # The app's Score files page runs `evalharness score` itself (its parser and cmd_score): the same numbers.
    assert importers_of("evalharness.cli", graph()) <= {"evalharness.__main__", "evalharness.ui.screens.score"}


def in_folders(edges: dict[str, set[str]], *folders: str) -> set[str]:
    """The modules of these folders (`reporting` -> evalharness.reporting and evalharness.reporting.*)."""
    prefixes = tuple(f"evalharness.{folder}" for folder in folders)
    return {name for name in edges if name in prefixes or name.startswith(tuple(p + "." for p in prefixes))}


def test_the_lower_layers_never_import_the_upper_ones():
    edges = graph()
    # ui/ (the browser app) sits on top, beside the command line: nothing below imports it.
    upper = {"evalharness", "evalharness.cli", "evalharness.api", "evalharness.runner"} | in_folders(edges, "ui")
    lower = {"evalharness.plan", "evalharness.config"} | in_folders(
        edges, "results", "reporting", "statistics", "datasets", "systems", "metrics", "documents", "executors"
    )
    wrong = {name: sorted(edges[name] & upper) for name in sorted(lower) if edges[name] & upper}
    assert not wrong, f"imports against the layering: {wrong}"


def folder_of(module: str) -> str | None:
    """The folder (package) a module lies in: evalharness.metrics.scoring -> evalharness.metrics; None for the
    modules at the top (evalharness.config) and the top package itself, which are no folder of their own."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()):
        return ".".join(parts[:2])
    return None


def folder_graph(edges: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Folder -> the folders its modules import -> which imports ("a -> b"), direct imports only."""
    folders: dict[str, dict[str, list[str]]] = {}
    for name, deps in sorted(edges.items()):
        here = folder_of(name)
        for dep in sorted(deps):
            there = folder_of(dep)
            if here and there and here != there:
                folders.setdefault(here, {}).setdefault(there, []).append(f"{name} -> {dep}")
    return folders


def test_no_cycle_between_folders():
    folders = folder_graph(graph())
    cycle = find_cycle({folder: set(targets) for folder, targets in folders.items()})
    assert cycle is None, "import cycle between folders: " + "; ".join(
        f"{a} -> {b} ({', '.join(folders[a][b])})" for a, b in zip(cycle, cycle[1:], strict=False)
    )


def test_the_folder_graph_sees_a_cycle_that_no_module_closes():
    edges = {
        "evalharness.metrics.scoring": {"evalharness.datasets.base"},
        "evalharness.datasets.base": set(),
        "evalharness.datasets.wmtxml": {"evalharness.metrics.sacrebleu_adapter"},
        "evalharness.metrics.sacrebleu_adapter": set(),
        "evalharness.config": {"evalharness.metrics.scoring", "evalharness.errors"},
    }
    assert find_cycle(edges) is None
    folders = folder_graph(edges)
    assert {folder: set(targets) for folder, targets in folders.items()} == {
        "evalharness.metrics": {"evalharness.datasets"},
        "evalharness.datasets": {"evalharness.metrics"},
    }
    assert find_cycle({folder: set(targets) for folder, targets in folders.items()}) is not None


def reachable(edges: dict[str, set[str]], start: set[str]) -> dict[str, list[str]]:
    """Every module that `start` imports, directly or through other modules: module -> one import path to it."""
    paths = {name: [name] for name in start}
    todo = sorted(start)
    while todo:
        name = todo.pop()
        for dep in sorted(edges.get(name, ())):
            if dep not in paths:
                paths[dep] = paths[name] + [dep]
                todo.append(dep)
    return {name: path for name, path in paths.items() if name not in start}


def reached(edges: dict[str, set[str]], sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    """The import paths from the folders `sources` into the folders `targets` (empty: none)."""
    reach = reachable(edges, in_folders(edges, *sources))
    forbidden = in_folders(edges, *targets)
    return [" -> ".join(path) for name, path in sorted(reach.items()) if name in forbidden]


def test_reporting_never_reaches_the_runner_the_api_or_the_command_line():
    edges = graph()
    reach = reachable(edges, in_folders(edges, "reporting"))
    upper = {"evalharness", "evalharness.runner", "evalharness.api", "evalharness.cli", "evalharness.__main__"}
    wrong = [" -> ".join(path) for name, path in sorted(reach.items()) if name in upper]
    assert not wrong, f"reporting/ imports the layers above it: {wrong}"


def test_statistics_never_reaches_reporting():
    wrong = reached(graph(), ("statistics",), ("reporting",))
    assert not wrong, f"statistics/ imports reporting/: {wrong}"


def test_datasets_systems_and_metrics_never_reach_statistics_or_reporting():
    wrong = reached(graph(), ("datasets", "systems", "metrics"), ("statistics", "reporting"))
    assert not wrong, f"imports against the layering: {wrong}"


def test_metrics_never_import_datasets():
    """datasets/ reads test sets through metrics/sacrebleu_adapter.py, so metrics/ must not import datasets/ (a
    folder-level cycle the module-level cycle test cannot see); what both need (`check_stream`) is in textio."""
    edges = graph()
    wrong = {
        name: sorted(dep for dep in deps if dep.startswith("evalharness.datasets"))
        for name, deps in edges.items()
        if name.startswith("evalharness.metrics") and any(dep.startswith("evalharness.datasets") for dep in deps)
    }
    assert not wrong, wrong

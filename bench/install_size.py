#!/usr/bin/env python3
"""Installed size of evalharness's core and of each extra, from the distributions installed in this Python (their
RECORD files): the requirements are read from pyproject.toml and followed through the installed packages'
own requirements (markers and extras included). An extra's size counts what only it needs beyond the core.

    BENCH core_install_mb <MB of the core's dependencies> MB goal <= 700

Run it in the environment `make setup` builds (every extra installed); a requirement that is not installed is
listed and counted as 0. Needs `packaging` (pip's own dependency, present in every virtual environment).
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
GOAL_MB = 700
missing: set[str] = set()
sizes: dict[str, int] = {}


def size_of(name: str) -> int:
    """Bytes of an installed distribution's files."""
    if name not in sizes:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            missing.add(name)
            files = []
        sizes[name] = sum(f.locate().stat().st_size for f in files if f.locate().is_file())
    return sizes[name]


def closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, their own requirements followed (with the extras asked)."""
    found: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in found:
            continue
        found.add(key)
        try:
            wanted = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            missing.add(key[0])
            continue
        for text in wanted:
            sub = Requirement(text)
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in environments):
                sub.marker = None
                todo.append(sub)
    return {name for name, _ in found}


def megabytes(names: set[str]) -> float:
    return sum(size_of(name) for name in names) / 1e6


def main() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = closure(project["dependencies"])
    print(f"core: {len(core)} distributions, {megabytes(core):.0f} MB")
    for name in sorted(core, key=size_of, reverse=True)[:8]:
        print(f"    {name}: {size_of(name) / 1e6:.0f} MB")
    for extra, requirements in project["optional-dependencies"].items():
        only = closure(requirements) - core
        largest = ", ".join(f"{n} {size_of(n) / 1e6:.0f}" for n in sorted(only, key=size_of, reverse=True)[:4])
        print(f"[{extra}]: {len(only)} distributions, {megabytes(only):.0f} MB beyond the core ({largest})")
    extras = [r for extra, rs in project["optional-dependencies"].items() if extra != "lint" for r in rs]
    everything = core | closure(extras)
    total = megabytes(everything)
    print(f"core and every extra but lint (make setup): {len(everything)} distributions, {total:.0f} MB")
    if missing:
        print(f"not installed here (counted as 0): {', '.join(sorted(missing))}")
    print(f"BENCH core_install_mb {megabytes(core):.0f} MB goal <= {GOAL_MB}")


if __name__ == "__main__":
    main()

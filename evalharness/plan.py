"""Config -> plan: load the datasets, expand systems (discovery, sweep grid) into cells to evaluate.

A cell is one dataset x one system x one point of the sweep grid. A swept setting only multiplies the systems
whose engine has that setting: a sweep over beam sizes does not re-run the identity baseline.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalharness.config import Config, SweepPoint, sweep_points
from evalharness.datasets import Dataset, load_dataset
from evalharness.errors import UserError
from evalharness.metrics import Metric, make_metric
from evalharness.refcheck import check_references
from evalharness.statistics.compare import is_baseline
from evalharness.systems import System, engine_of


@dataclass(frozen=True, order=True)
class CellId:
    """A cell's place in the plan: the key of its hypotheses and scores (a system's name repeats across the
    settings of a sweep, so it cannot be)."""

    index: int

    def __str__(self) -> str:
        return f"cell {self.index}"


@dataclass
class Cell:
    """`settings`: the swept settings as results show them: each value as the system's config typed it (seed 1,
    temperature 1.0), a labelled value as its label (`sweep: {prompt: [{label: terse, value: ...}]}`). `id`: its
    place in the plan (the `Plan` sets it), the key of its outputs and scores."""

    dataset: str
    system: System
    settings: dict[str, Any] = field(default_factory=dict)
    id: CellId = field(default=CellId(-1), compare=False)

    @property
    def label(self) -> str:
        if not self.settings:
            return self.system.name
        return f"{self.system.name} [{', '.join(f'{k}={json.dumps(v)}' for k, v in self.settings.items())}]"


@dataclass
class Plan:
    datasets: dict[str, Dataset]
    cells: list[Cell]
    metrics: list[Metric]
    sweep_keys: list[str]
    aggregate: list[str] = field(default_factory=list)  # swept settings summarised over (config `aggregate`)
    notices: list[str] = field(default_factory=list)  # sweep points collapsed into one cell, one line each

    def __post_init__(self) -> None:
        for index, cell in enumerate(self.cells):
            cell.id = CellId(index)

    def cells_of(self, dataset: str) -> list[Cell]:
        """The cells on one dataset, in plan order."""
        return [c for c in self.cells if c.dataset == dataset]

    def describe(self) -> str:
        lines = [
            *self.notices,
            f"{len(self.cells)} cells: {len(self.datasets)} datasets, "
            f"metrics {', '.join(m.label for m in self.metrics)}",
        ]
        for name, dataset in self.datasets.items():
            cells = self.cells_of(name)
            lines.append(
                f"- {name} ({dataset.langpair}, {len(dataset)} segments, references "
                f"{'+'.join(dataset.reference_names)}): {len(cells)} systems"
            )
            lines.extend(f"    {c.label}" for c in cells)
        return "\n".join(lines)


def _with_settings(cfg, settings: dict[str, Any], base_dir: Path):
    """The system config with the swept values applied, validated like the config itself (paths included)."""
    if not settings:
        return cfg
    values = cfg.model_dump()
    for key, value in settings.items():  # a dotted key (`prompt.n_shots`) replaces one value inside its field
        *outer, last = key.split(".")
        inner = values
        for part in outer:
            inner[part] = dict(inner.get(part) or {})
            inner = inner[part]
        inner[last] = value
    try:
        return type(cfg).model_validate(values, context={"base_dir": base_dir})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise UserError(f"sweep.{key}: {first['msg']} for system {cfg.name} (got {first.get('input')!r})") from err


def _shown(cfg, key: str, point: SweepPoint) -> Any:
    """A swept value as results show it: its label, else a number as the config's field typed it (seed 1, not
    1.0; temperature 1.0), else the value as written (a path as given, a mapping or list shown as JSON)."""
    if point.label is not None:
        return point.label
    typed = cfg
    for part in key.split("."):
        typed = getattr(typed, part)
    return typed if isinstance(typed, (int, float)) else point.value


def sweep_points_of(entry, engine, cfg: Config, base_dir: Path) -> tuple[list[tuple[Any, dict[str, Any]]], str | None]:
    """(system config, shown settings) per sweep point of a system entry, and a notice when points collapsed: a
    swept setting that cannot change the engine's outputs at a point (`System.inert_settings`, e.g. temperature
    with do_sample false) is left at the system's own value there, and the points it alone told apart become one."""
    keys = [k for k in cfg.sweep if engine.has_setting(k)]
    points: list[tuple[Any, dict[str, Any]]] = []
    seen: set[str] = set()
    inert: dict[str, str] = {}
    grid = list(itertools.product(*(sweep_points(cfg.sweep[k]) for k in keys)))
    for combo in grid:
        chosen = dict(zip(keys, combo, strict=True))
        full = _with_settings(entry, {k: p.value for k, p in chosen.items()}, base_dir)
        unused = {k: why for k, why in engine.inert_settings(full).items() if k in chosen}
        inert.update(unused)
        kept = {k: p for k, p in chosen.items() if k not in unused}
        system_cfg = _with_settings(entry, {k: p.value for k, p in kept.items()}, base_dir) if unused else full
        shown = {k: _shown(system_cfg, k, p) for k, p in kept.items()}
        key = json.dumps(shown, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            points.append((system_cfg, shown))
    notice = None
    if len(points) < len(grid):
        notice = (
            f"sweep: system {entry.name}: {', '.join(inert)} cannot change its outputs "
            f"({'; '.join(dict.fromkeys(inert.values()))}): {len(points)} cell{'s' if len(points) > 1 else ''} "
            f"instead of {len(grid)}"
        )
    return points, notice


def build_plan(cfg: Config, base_dir: Path) -> Plan:
    """`base_dir`: the config file's folder, against which swept paths resolve. Each system is checked on each
    dataset (`System.check`: what its engine would refuse at run time), before any model loads."""
    datasets = {d.name: load_dataset(d) for d in cfg.datasets}
    for dataset in datasets.values():
        check_references(dataset)
    cells: list[Cell] = []
    notices: list[str] = []
    for entry in cfg.systems:
        engine = engine_of(entry)
        points, notice = sweep_points_of(entry, engine, cfg, base_dir)
        if notice:
            notices.append(notice)
        for dataset in datasets.values():
            if entry.datasets and dataset.name not in entry.datasets:
                continue
            for system_cfg, settings in points:
                for system in engine.expand(system_cfg, dataset):
                    system.check(dataset)
                    cells.append(Cell(dataset.name, system, settings))
    cells.sort(key=lambda c: list(datasets).index(c.dataset))  # dataset by dataset, systems in config order
    for dataset in datasets.values():
        seen: dict[tuple, str] = {}
        for cell in (c for c in cells if c.dataset == dataset.name):
            key = (cell.system.name, json.dumps(cell.settings, sort_keys=True, default=str))
            if key in seen:
                raise UserError(
                    f"dataset {dataset.name}: two systems are named {cell.system.name!r} "
                    f"(from systems {seen[key]!r} and {cell.system.cfg.name!r})"
                )
            seen[key] = cell.system.cfg.name
    _check_baseline(cfg.statistics.baseline, datasets, cells)
    for dataset in datasets.values():
        names = [c.system.name for c in cells if c.dataset == dataset.name]
        if dataset.human_scores is not None:  # agreement.csv matches systems to human scores by name
            swept = sorted({n for n in names if names.count(n) > 1})
            if swept:
                raise UserError(
                    f"dataset {dataset.name}: human_scores are per system name, but {', '.join(swept)} "
                    f"has several swept settings; drop the sweep or the human scores"
                )
    metrics = [make_metric(m) for m in cfg.metrics]
    for target in sorted({d.target_lang for d in datasets.values()}):
        for metric in metrics:
            metric.check(target)
    return Plan(datasets, cells, metrics, list(cfg.sweep), list(cfg.aggregate), notices)


def _check_baseline(baseline: str | None, datasets: dict[str, Dataset], cells: list[Cell]) -> None:
    """`statistics.baseline` names a system on every dataset, and a point (`system@...`) exactly one cell."""
    if not baseline:
        return
    for dataset in datasets.values():
        here = [c for c in cells if c.dataset == dataset.name]
        if not here:
            continue
        found = [c for c in here if is_baseline(baseline, c.system.name, c.settings)]
        if not found:
            raise UserError(
                f"statistics.baseline: no system {'point' if '@' in baseline else 'named'} {baseline!r} on dataset "
                f"{dataset.name} (systems: {', '.join(dict.fromkeys(c.label for c in here))})"
            )
        if "@" in baseline and len(found) > 1:
            raise UserError(
                f"statistics.baseline: {baseline!r} names {len(found)} cells on dataset {dataset.name} "
                f"({'; '.join(c.label for c in found)}); add key=value parts to pick one"
            )

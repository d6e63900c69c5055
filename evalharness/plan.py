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

from evalharness.config import Config
from evalharness.datasets import Dataset, load_dataset
from evalharness.errors import UserError
from evalharness.metrics import Metric, make_metric
from evalharness.refcheck import check_references
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
    dataset: str
    system: System
    settings: dict[str, Any] = field(default_factory=dict)

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

    def describe(self) -> str:
        lines = [
            f"{len(self.cells)} cells: {len(self.datasets)} datasets, "
            f"metrics {', '.join(m.label for m in self.metrics)}"
        ]
        for name, dataset in self.datasets.items():
            cells = [c for c in self.cells if c.dataset == name]
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
    try:
        return type(cfg).model_validate({**cfg.model_dump(), **settings}, context={"base_dir": base_dir})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise UserError(f"sweep.{key}: {first['msg']} for system {cfg.name} (got {first.get('input')!r})") from err


def build_plan(cfg: Config, base_dir: Path) -> Plan:
    """`base_dir`: the config file's folder, against which swept paths resolve."""
    datasets = {d.name: load_dataset(d) for d in cfg.datasets}
    for dataset in datasets.values():
        check_references(dataset)
    cells: list[Cell] = []
    for dataset in datasets.values():
        seen: dict[tuple, str] = {}
        for entry in cfg.systems:
            if entry.datasets and dataset.name not in entry.datasets:
                continue
            engine = engine_of(entry)
            keys = [k for k in cfg.sweep if k in engine.settings()]
            for values in itertools.product(*(cfg.sweep[k] for k in keys)):
                settings = dict(zip(keys, values, strict=True))
                for system in engine.expand(_with_settings(entry, settings, base_dir), dataset):
                    key = (system.name, json.dumps(settings, sort_keys=True))
                    if key in seen:
                        raise UserError(
                            f"dataset {dataset.name}: two systems are named {system.name!r} "
                            f"(from systems {seen[key]!r} and {entry.name!r})"
                        )
                    seen[key] = entry.name
                    cells.append(Cell(dataset.name, system, settings))
    baseline = cfg.statistics.baseline
    for dataset in datasets.values():
        names = [c.system.name for c in cells if c.dataset == dataset.name]
        if baseline and names and baseline not in names:
            raise UserError(
                f"statistics.baseline: no system named {baseline!r} on dataset {dataset.name} "
                f"(systems: {', '.join(names)})"
            )
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
    return Plan(datasets, cells, metrics, list(cfg.sweep))

"""What a tracker receives, read from a finished results folder: the run's tags, and per cell (dataset x system x
sweep point) its params, metrics and tags. Both `run` and `track` log through this one reader, so a run logged
afterwards is the run logged at once; and what it reads is the folder's own redacted files (config.yaml,
manifest.json, run.json, scores.csv), so no secret that the files do not hold can reach a tracker."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.results import (
    CONFIG_FILE,
    FILES,
    MANIFEST,
    RUN_FILE,
    aggregate_mask,
    read_scores,
    sweep_columns,
)
from evalharness.results.read import read_config
from evalharness.results.schema import missing

# A score's statistics that become metrics beside it (`<level>/<metric>_<stat>`), where the run computed them.
SCORE_STATS = ("ci_low", "ci_high", "delta", "delta_ci_low", "delta_ci_high", "p_value", "human_agreement")
# Per-cell numbers of scores.csv (the same on every row of a cell), logged as metrics of their own.
CELL_NUMBERS = ("off_target_rate", "empty_outputs", "unaligned_sources", "unaligned_references", "pivot_on_target_rate")
# A system entry's fields that say what the entry is, not how it translates: params of their own or left out.
ENTRY_FIELDS = ("name", "engine", "datasets", "resources", "replicas", "floor")
# The cell's own params; a setting of the same name is logged as `setting.<name>`.
CELL_PARAMS = ("dataset", "system", "engine", "langpair", "n_segments", "references")


@dataclass
class CellRecord:
    """One cell: `params` (what it is), `metrics` (`<level>/<metric>` and its statistics), `tags`."""

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


@dataclass
class RunRecord:
    """One config run, as its results folder holds it."""

    name: str  # the run's name (the folder's name)
    folder: Path
    config: dict  # the folder's config.yaml (its `tracking:` section: where `evalharness track` logs it)
    scores: pd.DataFrame  # its scores.csv as written (`results.read_scores`): W&B logs it as a table
    results_id: str  # the first hex digits of manifest.json's sha256: the same folder, the same id
    tags: dict[str, str]
    params: dict[str, str]
    cells: list[CellRecord] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None


def read_run(folder: Path) -> RunRecord:
    """A whole results folder (`results.check_whole`) as what a tracker logs; a folder that is not whole is a
    one-line UserError, as for `evalharness table`."""
    scores, manifest = read_scores(folder)
    config = read_config(folder)
    circumstances = _run_json(folder / RUN_FILE)
    digest = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    tags = {
        "evalharness.version": str(manifest.get("evalharness", "")),
        "sacrebleu.version": str(manifest.get("sacrebleu", "")),
        "evalharness.config": str(manifest.get("config", "")),
        "evalharness.config_sha256": str((manifest.get(FILES) or {}).get(CONFIG_FILE, "")),
        "evalharness.results_id": digest[:12],
        "evalharness.run_name": folder.name,
    }
    if circumstances.get("git_commit"):
        tags["evalharness.git_commit"] = str(circumstances["git_commit"])
    run = RunRecord(
        name=str(config.get("run_name") or folder.name),
        folder=folder,
        config=config,
        scores=scores,
        results_id=digest[:12],
        tags={k: v for k, v in tags.items() if v},
        params=_run_params(config, manifest),
        started=_time(circumstances.get("started")),
        finished=_time(circumstances.get("finished")),
    )
    identities = _identities(circumstances)
    cells = scores[~aggregate_mask(scores)]
    keys = sweep_columns(scores)
    for _, rows in cells.groupby(["dataset", "system", *keys], sort=False, dropna=False):
        run.cells.append(_cell(rows, keys, config, manifest, identities, run.tags))
    return run


def _cell(
    rows: pd.DataFrame, keys: list[str], config: dict, manifest: dict, identities: dict, common: dict[str, str]
) -> CellRecord:
    first = rows.iloc[0]
    dataset, system = str(first["dataset"]), str(first["system"])
    swept = {key: first[key] for key in keys if not missing(first[key])}
    entry = _system_entry(config, system)
    settings = _flat({k: v for k, v in entry.items() if k not in ENTRY_FIELDS})
    for key, shown in swept.items():
        settings[key] = _swept_value(config, key, shown)
    params = {
        "dataset": dataset,
        "system": system,
        "engine": str(entry.get("engine", "")),
        "langpair": str(first["langpair"]),
        "n_segments": _text(first["n_segments"]),
        "references": str(first.get("references", "")),
    }
    for key, value in settings.items():
        params[f"setting.{key}" if key in CELL_PARAMS else key] = _text(value)
    identity = identities.get((dataset, system, json.dumps(_plain(swept), sort_keys=True)))
    identity = identity or identities.get((dataset, system))
    for key, value in _flat(identity or {}, "model").items():
        params[key] = _text(value)
    metrics: dict[str, float] = {}
    tags = dict(common)
    for _, row in rows.iterrows():
        name = f"{row['level']}/{row['metric']}"
        for stat, value in [("", row["score"]), *((f"_{s}", row.get(s)) for s in SCORE_STATS)]:
            if _number(value) is not None:
                metrics[name + stat] = float(value)
        tags[f"signature.{row['metric']}"] = str(row["signature"])
    for column in CELL_NUMBERS:
        if _number(first.get(column)) is not None:
            metrics[column] = float(first[column])
    if not missing(first.get("valid")):
        tags["valid"] = str(bool(first["valid"])).lower()
    if not missing(first.get("baseline")):
        tags["baseline"] = str(first["baseline"])
    tags["floor"] = str(system in manifest.get("floors", [])).lower()
    label = " ".join(f"{key}={swept[key]}" for key in keys if key in swept)
    return CellRecord(f"{dataset}/{system}" + (f" {label}" if label else ""), params, metrics, tags)


def written_tracking(run: RunRecord) -> dict:
    """The `tracking:` section of the run's config.yaml (empty when the run had none)."""
    section = run.config.get("tracking")
    return dict(section) if isinstance(section, dict) else {}


def _run_params(config: dict, manifest: dict) -> dict[str, str]:
    """The parent's params: what the config run covered and how its statistics were computed."""
    params = {
        "datasets": _text([d.get("name") for d in config.get("datasets") or []]),
        "systems": _text([s.get("name") for s in config.get("systems") or []]),
        "cells": _text(manifest.get("cells")),
    }
    if config.get("sweep"):
        params["sweep"] = _text(config["sweep"])
    for key, value in _flat(config.get("statistics") or {}, "statistics").items():
        params[key] = _text(value)
    return params


def _system_entry(config: dict, system: str) -> dict:
    """The config's entry of a system; a system an entry expanded into (outputs `{system}`, `xml_system: '*'`)
    has none of its own name: the one entry of its engine that expands, else nothing."""
    entries = [s for s in config.get("systems") or [] if isinstance(s, dict)]
    named = [s for s in entries if s.get("name") == system]
    if named:
        return named[0]
    expanding = [s for s in entries if "{system}" in str(s.get("path", "")) or s.get("xml_system") == "*"]
    return expanding[0] if len(expanding) == 1 else {}


def _swept_value(config: dict, key: str, shown: Any) -> Any:
    """A sweep point's value: the value behind a label (`{label: NAME, value: VALUE}`), else what the table shows."""
    for point in (config.get("sweep") or {}).get(key, []):
        if isinstance(point, dict) and set(point) == {"label", "value"} and point["label"] == shown:
            return point["value"]
    return shown


def _identities(circumstances: dict) -> dict[tuple, dict]:
    """run.json's model identity of each cell that translated (a file's sha256, a hub commit), by cell, and by
    dataset and system where all their cells share one (a labelled sweep point is its value in run.json)."""
    found: dict[tuple, dict] = {}
    shared: dict[tuple, list[dict]] = {}
    for cell in (circumstances.get("translation") or {}).get("cells") or []:
        if isinstance(cell, dict) and cell.get("identity"):
            key = (cell.get("dataset"), cell.get("system"), json.dumps(cell.get("settings") or {}, sort_keys=True))
            found[key] = cell["identity"]
            shared.setdefault(key[:2], []).append(cell["identity"])
    for pair, identities in shared.items():
        if all(identity == identities[0] for identity in identities):
            found[pair] = identities[0]
    return found


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys (`prompt.template`), as a sweep names them."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def _plain(values: dict) -> dict:
    """Swept values as run.json records a cell's settings (numpy and pandas scalars as Python's)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()}


def _text(value: Any) -> str:
    """A param's value: text as it is, anything else as JSON (None as null, lists and maps as written)."""
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _number(value: Any) -> float | None:
    if value is None or missing(value) or isinstance(value, (bool, str)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _run_json(path: Path) -> dict:
    """run.json (when and where the run happened), or nothing: a folder copied without it is still whole."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None

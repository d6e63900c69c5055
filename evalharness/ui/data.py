"""Results folders loaded read-only for the app: each folder read once through `evalharness.results.read` (the
one reader: a folder that is not whole is refused in one line naming the file) and kept while its files stay
the same (cached on the folder's path and the mtimes of its manifest and segments file).

Nothing here writes into a folder. A bad folder gives its message (`FolderError`), never a traceback, so the
app can show it and go on with the others.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness.errors import UserError
from evalharness.reporting.analysis import read_table
from evalharness.results import (
    AGGREGATES_FILE,
    ANALYSIS_FILES,
    MANIFEST,
    PAIRWISE_FILE,
    SEGMENT_COLUMNS,
    SEGMENT_RECORD_KEYS,
    SEGMENTS_FILE,
    SUMMARY_FILE,
    read_csv,
    read_scores,
    read_segments,
    segments_frame,
    sweep_columns,
)
from evalharness.results.read import read_config
from evalharness.results.schema import SEGMENT_DTYPES


@dataclass
class Folder:
    """One results folder as the pages read it; every frame is shared between reruns, never changed in place."""

    name: str  # the folder's name (its path where two names collide), the `run` of the leaderboard
    path: Path
    scores: pd.DataFrame  # scores.csv as written
    summary: pd.DataFrame  # summary.csv as written
    manifest: dict
    pairwise: pd.DataFrame | None = None  # pairwise.csv with `cell_a` / `cell_b` label columns
    config: dict = field(default_factory=dict)  # config.yaml (the statistics settings)
    analysis: dict[str, pd.DataFrame] = field(default_factory=dict)  # by ANALYSIS_FILES key
    alignments: dict[str, pd.DataFrame] = field(default_factory=dict)  # alignments/*.tsv by file name
    cleaning: dict[str, str] = field(default_factory=dict)  # cleaning/*.txt by file name
    stamp: tuple = ()  # `stamp(path)` when it was read: the key of what is cached from it
    aggregates: pd.DataFrame | None = None  # aggregates.csv: mean, std, min, max over seeds (`aggregate: [seed]`)
    _segments: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def sweep_keys(self) -> list[str]:
        return sweep_columns(self.scores)

    @property
    def segments(self) -> pd.DataFrame:
        """segments.jsonl (`read_segments_frame`), read when a page first needs it: the leaderboard of a huge run
        is drawn without it."""
        if self._segments is None:
            self._segments = read_segments_frame(self.path)
        return self._segments


def _plain(value: Any) -> Any:
    """A setting's value as JSON writes it (numpy and pandas scalars as Python's)."""
    return value.item() if hasattr(value, "item") else value


def cell_label(system: str, settings: dict[str, Any]) -> str:
    """A cell's name as the run writes it (`plan.Cell.label`): `system [key=value, ...]`, values as JSON."""
    present = {k: _plain(v) for k, v in settings.items() if not _missing(v)}
    if not present:
        return str(system)
    return f"{system} [{', '.join(f'{k}={json.dumps(v)}' for k, v in present.items())}]"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def with_cells(frame: pd.DataFrame, keys: list[str], system: str = "system", suffix: str = "") -> pd.Series:
    """The cell label of each row of a table whose settings are columns (`key` or `key a`)."""
    columns = [f"{k}{suffix}" for k in keys]
    return pd.Series(
        [
            cell_label(row[0], dict(zip(keys, row[1:], strict=True)))
            for row in frame[[system, *columns]].itertuples(index=False, name=None)
        ],
        index=frame.index,
        dtype=object,
    )


def _tsv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str, quoting=3)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a valid TSV table ({err})") from err


def _texts(folder: Path, sub: str, suffix: str) -> dict[str, Path]:
    where = folder / sub
    return {p.name: p for p in sorted(where.glob(f"*{suffix}"))} if where.is_dir() else {}


def load_folder(path: Path, name: str | None = None) -> Folder:
    """Everything the pages show of one folder but its segments (read on first use); `UserError` (one line naming
    the folder or file) when it is not a whole results folder (`results.read_scores` checks every file's hash)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a manifest without hashes: read unchecked, as `evalharness table` does
        scores, manifest = read_scores(path)
    if not (path / SUMMARY_FILE).exists():
        raise UserError(f"{path}: no {SUMMARY_FILE} (not a complete results folder)")
    if not (path / SEGMENTS_FILE).exists():
        raise UserError(f"{path}: no {SEGMENTS_FILE} (not a complete results folder)")
    keys = sweep_columns(scores)
    pairwise = None
    if (path / PAIRWISE_FILE).exists():
        pairwise = read_csv(path / PAIRWISE_FILE)
        pairwise["cell_a"] = with_cells(pairwise, keys, "system_a", " a")
        pairwise["cell_b"] = with_cells(pairwise, keys, "system_b", " b")
    analysis = {
        key: read_table((path / file).read_text(encoding="utf-8"))
        for key, file in ANALYSIS_FILES.items()
        if (path / file).exists()
    }
    return Folder(
        name or path.name,
        path,
        scores,
        read_csv(path / SUMMARY_FILE),
        manifest,
        pairwise,
        read_config(path, missing_ok=True),
        analysis,
        {n: _tsv(p) for n, p in _texts(path, "alignments", ".tsv").items()},
        {n: p.read_text(encoding="utf-8", errors="replace") for n, p in _texts(path, "cleaning", ".txt").items()},
        stamp(path),
        read_csv(path / AGGREGATES_FILE) if (path / AGGREGATES_FILE).exists() else None,
    )


def read_segments_frame(folder: Path) -> pd.DataFrame:
    """segments.jsonl as `results.segments_frame` gives it (a column per metric's sentence score; `settings` as the
    `cell` label of each row instead of a dict): read by pyarrow's JSON reader where it can (a fifth of the time
    on WMT22 zh-en's 48,750 lines), else by `results.read_segments`, which also names a line that is not JSON."""
    fast = _arrow_segments(folder / SEGMENTS_FILE)
    if fast is not None:
        return fast
    frame = segments_frame(read_segments(folder))
    frame["cell"] = [cell_label(s, d or {}) for s, d in zip(frame["system"], frame["settings"], strict=True)]
    return frame.drop(columns="settings")


def _arrow_segments(path: Path) -> pd.DataFrame | None:
    """The frame by pyarrow, or None where it cannot read the file as one table (a bad line, values of mixed
    types, no pyarrow): the slow reader then says why or reads it."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.json as pa_json  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        table = pa_json.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    if set(table.column_names) != set(SEGMENT_RECORD_KEYS) or table.num_rows == 0:
        return None
    settings, scores = table.column("settings"), table.column("scores")
    if not pa.types.is_struct(settings.type) or not pa.types.is_struct(scores.type):
        return None
    frame = pd.DataFrame({c: table.column(c).to_pandas() for c in SEGMENT_COLUMNS if c != "settings"})
    for column, kind in SEGMENT_DTYPES.items():
        frame[column] = frame[column].astype(kind)
    keys = [settings.type.field(i).name for i in range(settings.type.num_fields)]
    values = [settings.combine_chunks().field(i).to_pylist() for i in range(len(keys))]
    combined = scores.combine_chunks()
    for i in range(scores.type.num_fields):
        frame[scores.type.field(i).name] = combined.field(i).to_numpy(zero_copy_only=False).astype("float64")
    systems = frame["system"].astype(object).tolist()
    frame["cell"] = (
        [cell_label(s, dict(zip(keys, v, strict=True))) for s, *v in zip(systems, *values, strict=True)]
        if keys
        else systems
    )
    return frame


def stamp(path: Path) -> tuple[float, float, float]:
    """What says a folder changed: the mtimes of the folder, its manifest (written last) and its segments file."""
    times = []
    for p in (path, path / MANIFEST, path / SEGMENTS_FILE):
        try:
            times.append(os.stat(p).st_mtime)
        except OSError:
            times.append(0.0)
    return times[0], times[1], times[2]


def names_of(paths: list[Path]) -> list[str]:
    """Each folder's name, its path as given where two folders have the same name (as the leaderboard does)."""
    names = [os.path.basename(os.path.abspath(p)) for p in paths]
    return [str(p) if names.count(n) > 1 else n for n, p in zip(names, paths, strict=True)]


def load_all(paths: list[Path], load=load_folder) -> tuple[list[Folder], list[str]]:
    """The folders that load, and one message per folder that does not (naming it, or the file at fault); a
    folder given twice is read once."""
    unique, errors = [], []
    seen: set[Path] = set()
    for path in paths:
        real = path.resolve()
        if real in seen:
            errors.append(f"{path}: the same results folder is given twice (shown once)")
            continue
        seen.add(real)
        unique.append(path)
    folders = []
    for name, path in zip(names_of(unique), unique, strict=True):
        try:
            folders.append(load(path, name))
        except UserError as err:
            errors.append(str(err))
        except (OSError, ValueError, KeyError, TypeError) as err:  # a foreign folder's files in unexpected shapes
            errors.append(f"{path}: cannot read this results folder ({type(err).__name__}: {err})")
    return folders, errors

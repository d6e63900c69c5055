"""Scores -> tidy and wide tables, per-segment records, and the files of a results folder.

CSV files hold full float precision and nothing that changes between identical runs (no times, no machine
paths), so a rerun gives byte-identical `scores.csv` and `summary.csv`. Times and versions go to manifest.json.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from evalharness import csvsafe
from evalharness.errors import ResultsWarning, UserError
from evalharness.statistics.compare import PAIR_FIELD, CellComparison
from evalharness.textio import check_replaceable, current_umask

MANIFEST = "manifest.json"  # written last; its presence marks a folder as a run's results
RUN_FILE = "run.json"  # the run's circumstances (when, where, from which commit, how long, cache use): not hashed
# The manifest's entries that differ from one run of the same config to the next (the clock, the machine, the
# checkout, what the caches held): written to run.json, so that manifest.json and the rest of a folder are the same
# bytes whenever the same config gives the same results (the committed results/seeds stays unchanged by `make run`).
RUN_KEYS = ("python", "platform", "git_commit", "argv", "started", "finished", "workers", "score_cache", "translation")
FILES = "files"  # manifest.json's list of every other file of the folder: name -> sha256 of its bytes

# Per-cell columns (the same on every metric row of a cell) that the summary keeps after the metrics.
CELL_COLUMNS = [
    "off_target_rate",
    "empty_outputs",
    "unaligned_sources",
    "unaligned_references",
    "pivot_on_target_rate",
    "valid",
]
# Per-score statistics (segment level): bootstrap CI, paired test against the baseline, all-pairs rank.
STAT_COLUMNS = [f.name for f in fields(CellComparison) if f.name != PAIR_FIELD]
TIDY_COLUMNS = [
    "dataset",
    "system",
    "level",
    "metric",
    "score",
    *STAT_COLUMNS,
    "direction",
    "signature",
    "n_segments",
    "references",
    "langpair",
    *CELL_COLUMNS,
]


@dataclass(kw_only=True)
class Row:
    """One score: dataset x system x settings x metric (built from named fields: ten of them are required)."""

    dataset: str
    system: str
    settings: dict[str, Any]
    metric: str
    score: float | None  # None: nothing to score (a round trip with no pivot on target)
    direction: str
    signature: str
    n_segments: int
    references: str
    langpair: str
    level: str = "segment"  # segment, document, or "segment, pivot on target" (round trips)
    off_target_rate: float = 0.0
    empty_outputs: int = 0
    unaligned_sources: int = 0
    unaligned_references: int = 0
    pivot_on_target_rate: float | None = None
    valid: bool = True
    comparison: CellComparison = field(default_factory=CellComparison)  # the STAT_COLUMNS

    def value(self, column: str) -> Any:
        return getattr(self.comparison if column in STAT_COLUMNS else self, column)


def segment_record(
    *,
    dataset: str,
    system: str,
    settings: dict[str, Any],
    segment: int,
    doc_id: str | None,
    source_ids: list[int] | None,
    source: str,
    pivot: str | None,
    pivot_lang: str | None,
    references: list[str],
    hypothesis: str,
    hypothesis_lang: str | None,
    scores: dict[str, float],
    level: str = "segment",
) -> dict[str, Any]:
    """One line of segments.jsonl: a scored segment of one cell, its texts, languages and sentence-level scores
    (`segment`: 1-based; `source_ids`: the 1-based source sentences a document's segment joins)."""
    return {
        "dataset": dataset,
        "system": system,
        "settings": settings,
        "level": level,
        "segment": segment,
        "doc_id": doc_id,
        "source_ids": source_ids,
        "source": source,
        "pivot": pivot,
        "pivot_lang": pivot_lang,
        "references": references,
        "hypothesis": hypothesis,
        "hypothesis_lang": hypothesis_lang,
        "scores": scores,
    }


def setting_value(value: Any) -> Any:
    """Scalars stay as they are; lists and mappings become JSON so they fit in one CSV cell."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, sort_keys=True)


def scores_frame(rows: list[Row], sweep_keys: list[str], aggregate: list[str] | None = None) -> pd.DataFrame:
    """Tidy: one row per score. Swept settings keep their type (a seed is 1 even where a system without it leaves
    the column empty). With `aggregate` (the config's `aggregate: [seed]`), `aggregate_rows` adds the summary
    rows over each of those settings."""
    records = []
    for row in rows:
        record = {"dataset": row.dataset, "system": row.system}
        record.update({k: setting_value(row.settings.get(k)) for k in sweep_keys})
        record.update({k: row.value(k) for k in TIDY_COLUMNS[2:]})
        records.append(record)
    columns = TIDY_COLUMNS[:2] + sweep_keys + TIDY_COLUMNS[2:]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in sweep_keys:  # object: pandas would make [1, None] the floats [1.0, NaN]
        frame[key] = pd.Series([r[key] for r in records], index=frame.index, dtype=object)
    for key in aggregate or []:
        frame = aggregate_rows(frame, key)
    for key in sweep_keys:  # the dtypes `read_csv` gives the same column
        frame[key] = _typed_setting(frame[key].map(lambda v: None if missing(v) else str(v)).astype(object))
    return frame


# The rows `aggregate_rows` adds, marked by this text in the aggregated setting's column.
AGGREGATES = ("mean", "std", "min", "max")


def aggregate_rows(scores: pd.DataFrame, key: str) -> pd.DataFrame:
    """After the rows of each (dataset, system, other settings, level, metric) scored at several values of `key`
    (seeds), four rows whose `key` column says `mean`, `std` (sample standard deviation, n-1), `min` or `max`
    and whose score is that statistic of the scores over those values; the per-value rows stay as they are. The
    added rows have no CI, test or per-cell columns (those belong to one cell's outputs)."""
    group_keys = ["dataset", "system", *(k for k in sweep_columns(scores) if k != key), "level", "metric"]
    records = scores.to_dict("records")

    def group_of(record: dict) -> str:
        return json.dumps([None if missing(record[k]) else record[k] for k in group_keys], default=str)

    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        if not missing(record[key]) and not missing(record["score"]):
            groups.setdefault(group_of(record), []).append(i)
    after: dict[int, list[dict]] = {}
    for members in groups.values():
        if len({json.dumps(records[i][key], default=str) for i in members}) < 2:
            continue
        values = pd.Series([records[i]["score"] for i in members], dtype=float)
        first = records[members[0]]
        same = ["dataset", "system", *group_keys[2:], "direction", "signature", "n_segments", "references", "langpair"]
        stats = {"mean": values.mean(), "std": values.std(ddof=1), "min": values.min(), "max": values.max()}
        after[members[-1]] = [
            {**{c: None for c in scores.columns}, **{c: first[c] for c in same}, key: name, "score": float(value)}
            for name, value in stats.items()
        ]
    if not after:
        return scores
    out = []
    for i, record in enumerate(records):
        out.append(record)
        out.extend(after.get(i, []))
    frame = pd.DataFrame.from_records(out, columns=list(scores.columns))
    for column in scores.columns:
        if column in sweep_columns(scores):
            frame[column] = pd.Series([r[column] for r in out], index=frame.index, dtype=object)
        elif scores[column].dtype.kind in "iu":  # counts stay whole numbers beside the empty cells
            frame[column] = frame[column].astype("Int64")
    return frame


def aggregate_mask(frame: pd.DataFrame) -> pd.Series:
    """The rows `aggregate_rows` added to a scores or summary frame: a swept setting's column holds the text
    `mean`, `std`, `min` or `max` there."""
    flags = pd.Series(False, index=frame.index)
    for key in sweep_columns(frame):
        flags |= frame[key].map(lambda v: isinstance(v, str) and v in AGGREGATES).astype(bool)
    return flags


AGGREGATES_FILE = "aggregates.csv"


def split_aggregates(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the summary's rows of cells, its aggregate rows) so that each is a table of its own: a mean over seeds is
    not ranked among the seeds it summarises. The aggregates keep the key and metric columns (no statistic, no
    baseline, no per-cell column: those belong to one cell's outputs); None when there are none."""
    mask = aggregate_mask(summary)
    if not mask.any():
        return summary, None
    cells, aggregates = (_retyped(summary[rows].reset_index(drop=True)) for rows in (~mask, mask))
    after = list(aggregates.columns)[list(aggregates.columns).index("level") + 1 :]
    untested = [c for c in after if c == "baseline" or aggregates[c].isna().all()]
    return cells, aggregates.drop(columns=untested)


def _retyped(frame: pd.DataFrame) -> pd.DataFrame:
    """The swept settings' columns typed as `read_csv` types them in a file of these rows alone (seeds are
    integers again once the `mean` rows are gone)."""
    for key in sweep_columns(frame):
        frame[key] = _typed_setting(frame[key].map(lambda v: None if missing(v) else str(v)).astype(object))
    return frame


def sweep_columns(scores: pd.DataFrame) -> list[str]:
    """The swept settings: the columns between `system` and `level`."""
    cols = list(scores.columns)
    return cols[cols.index("system") + 1 : cols.index("level")]


def summary_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Wide: one row per dataset x system x settings, one column per metric, in the order of the tidy table."""
    keys = ["dataset", "system", *sweep_columns(scores), "level"]
    metrics = list(dict.fromkeys(scores["metric"]))
    # A metric's statistics columns ("BLEU ci_low", ...) appear when some row has them.
    stats = [k for k in STAT_COLUMNS if k in scores.columns and k != "baseline" and scores[k].notna().any()]
    metric_columns = [c for m in metrics for c in [m, *(f"{m} {k}" for k in stats)]]
    rows: dict[tuple, dict] = {}
    for record in scores.to_dict("records"):
        key = tuple(json.dumps(record[k]) if not pd.isna(record[k]) else "" for k in keys)
        row = rows.setdefault(key, {k: record[k] for k in keys})
        row[record["metric"]] = record["score"]
        row.update({f"{record['metric']} {k}": record[k] for k in stats})
        row.update({k: record[k] for k in CELL_COLUMNS if k in record})
    extra = [k for k in CELL_COLUMNS if k in scores.columns]
    frame = pd.DataFrame(list(rows.values()), columns=keys + metric_columns + extra)
    if "baseline" in scores.columns and scores["baseline"].notna().any():
        frame["baseline"] = scores["baseline"].dropna().iloc[0]  # one baseline per run (statistics.baseline)
    return _retyped(frame)  # pandas would make the seeds [1, None] the floats [1.0, NaN]


PAIRWISE_FILE = "pairwise.csv"


@dataclass
class PairRow:
    """One tested pair of cells of a dataset for one metric (segment level): both systems, their scores, the
    p-value of the paired test (the same whichever of the two is the baseline) and which one is significantly
    better (empty: neither)."""

    dataset: str
    system_a: str
    settings_a: dict[str, Any]
    system_b: str
    settings_b: dict[str, Any]
    metric: str
    score_a: float | None
    score_b: float | None
    p_value: float
    better: str | None  # "a", "b" or None
    test: str
    n_samples: int
    level: str = "segment"


def pairwise_frame(pairs: list[PairRow], sweep_keys: list[str]) -> pd.DataFrame:
    """pairwise.csv: one row per dataset x metric x tested pair (each pair once, in run order), the swept settings
    of each side as `<key> a` / `<key> b`; `delta` = score_a - score_b."""
    keys_a, keys_b = [f"{k} a" for k in sweep_keys], [f"{k} b" for k in sweep_keys]
    columns = [
        "dataset",
        "level",
        "metric",
        "system_a",
        *keys_a,
        "system_b",
        *keys_b,
        "score_a",
        "score_b",
        "delta",
        "p_value",
        "better",
        "test",
        "n_samples",
    ]
    records = []
    for pair in pairs:
        delta = None if pair.score_a is None or pair.score_b is None else pair.score_a - pair.score_b
        record: dict[str, Any] = {"dataset": pair.dataset, "level": pair.level, "metric": pair.metric}
        record["system_a"] = pair.system_a
        record.update({f"{k} a": setting_value(pair.settings_a.get(k)) for k in sweep_keys})
        record["system_b"] = pair.system_b
        record.update({f"{k} b": setting_value(pair.settings_b.get(k)) for k in sweep_keys})
        record.update(
            score_a=pair.score_a,
            score_b=pair.score_b,
            delta=delta,
            p_value=pair.p_value,
            better=pair.better,
            test=pair.test,
            n_samples=pair.n_samples,
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in keys_a + keys_b:  # typed as in scores.csv (a seed is 1, not 1.0, beside a system without it)
        values = [None if missing(r[key]) else str(r[key]) for r in records]
        frame[key] = _typed_setting(pd.Series(values, index=frame.index, dtype=object))
    return frame


HUMAN_FILE = "human_scores.csv"
HUMAN_COLUMNS = ["dataset", "system", "human_score", "kind"]


def human_scores_frame(datasets: dict[str, dict[str, float] | None], kinds: dict[str, str]) -> pd.DataFrame | None:
    """human_scores.csv: one row per dataset and system with a human score (``datasets``: dataset -> system ->
    score, None for a dataset without); None when no dataset has any."""
    records = [
        {"dataset": name, "system": system, "human_score": score, "kind": kinds.get(name, "z")}
        for name, scores in datasets.items()
        if scores is not None
        for system, score in scores.items()
    ]
    if not any(scores is not None for scores in datasets.values()):
        return None
    return pd.DataFrame.from_records(records, columns=HUMAN_COLUMNS)


def missing(value: Any) -> bool:
    """An empty cell of the project's frames: None, pandas' NA or a float NaN (never the text 'NA' or 'null')."""
    if value is None or value is pd.NA:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def to_csv(frame: pd.DataFrame) -> str:
    """A frame as the harness writes CSV (cells a spreadsheet would run neutralised: `evalharness.csvsafe`)."""
    return csvsafe.to_csv(frame)


# Columns that hold names, never numbers or missing values: a system called `NA`, `null` or `1` stays itself.
TEXT_COLUMNS = [
    "run",
    "dataset",
    "system",
    "level",
    "metric",
    "direction",
    "signature",
    "references",
    "langpair",
    "baseline",
    "name",
    "system_a",
    "system_b",
    "better",
    "test",
]


def read_csv(path: Path) -> pd.DataFrame:
    """The one reader of the CSV files a run writes (scores, summary, agreement, human scores): only an empty
    cell is missing (pandas would also take `NA`, `null`, `nan`, ... for missing), names are text, and a file
    that is not such a table is a one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UserError(f"{path}: not found (not a complete results folder)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({err})") from err
    try:
        header = list(pd.read_csv(io.StringIO(text), nrows=0, keep_default_na=False).columns)
        settings = _setting_columns(header)
        frame = pd.read_csv(
            io.StringIO(text),
            keep_default_na=False,
            na_values=[""],
            dtype={c: str for c in [*TEXT_COLUMNS, *settings] if c in header},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise UserError(f"{path}: not a valid CSV table ({err})") from err
    frame = csvsafe.read_back(frame)
    settings = [str(csvsafe.restored(column)) for column in settings]
    for column in settings:
        frame[column] = _typed_setting(frame[column])
    return frame


def _setting_columns(header: list[str]) -> list[str]:
    """The swept settings' columns of a run's CSV: between `system` and `level` (scores, summary), or each side's
    `<key> a` / `<key> b` (pairwise)."""
    if "system" in header and "level" in header and header.index("system") < header.index("level"):
        return header[header.index("system") + 1 : header.index("level")]
    if {"system_a", "system_b", "score_a"} <= set(header):
        a, b, end = header.index("system_a"), header.index("system_b"), header.index("score_a")
        return header[a + 1 : b] + header[b + 1 : end]
    return []


INTEGER_TEXT = r"-?[0-9]+"


def _typed_setting(column: pd.Series) -> pd.Series:
    """A swept setting's column as written: whole numbers as integers (Int64, so gaps stay gaps: seed 1, not
    1.0), other numbers as floats, anything else (labels, JSON, `mean` rows) as text."""
    present = column.dropna().astype(str)
    if present.str.fullmatch(INTEGER_TEXT).all() and len(present):
        return column.astype("Int64")
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all() and not present.isin(["True", "False"]).any():
        return pd.to_numeric(column)
    return column


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def file_hashes(files: dict[str, str | bytes]) -> dict[str, str]:
    """manifest.json's `files`: the sha256 of every file but the manifest, by name (sorted, so a rerun that writes
    the same files lists them the same way)."""
    return {
        name: hashlib.sha256(_bytes(files[name])).hexdigest()
        for name in sorted(files)
        if name not in (MANIFEST, RUN_FILE)
    }


def split_manifest(manifest: dict) -> tuple[dict, dict]:
    """(manifest.json, run.json): what the results are and how they were made, apart from the run's
    circumstances (RUN_KEYS), which change with every run."""
    return (
        {k: v for k, v in manifest.items() if k not in RUN_KEYS},
        {k: v for k, v in manifest.items() if k in RUN_KEYS},
    )


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def _listed_path(folder: Path, name: str) -> Path:
    """A file the manifest lists, refused when the name leads outside the folder (a manifest is data, not trusted)."""
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts:
        raise UserError(f"{folder / MANIFEST}: lists {name!r}, which is not a file inside the folder")
    return folder / name


def check_whole(folder: Path, rebuilt: Callable[[str], bool] = lambda name: False) -> dict:
    """The folder's manifest, once every file it lists is there with the bytes it had when the run wrote it: a
    results folder proves it is whole or is refused, in one line naming the file (a copy cut off, a file edited
    by hand, a folder that is not a run's). `rebuilt`: files the caller is about to write again, not checked.
    A manifest from before the file hashes were recorded is read unchecked, with a `ResultsWarning`."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise UserError(f"{folder}: not a results folder (no such folder)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UserError(
            f"{folder}: no {MANIFEST}, so not a whole results folder (a run writes it last: the run was cut off, "
            f"or this is not a run's results folder)"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read it ({err})") from err
    try:
        manifest = json.loads(text)
    except ValueError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(manifest, dict) or "evalharness" not in manifest:
        raise UserError(f"{path}: not a run's manifest (it names no evalharness version): not a results folder")
    listed = manifest.get(FILES)
    if listed is None:
        warnings.warn(
            f"{path}: lists no file hashes (written by an earlier evalharness), so its files could not be checked "
            f"for completeness; rerun the config to record them",
            ResultsWarning,
            stacklevel=2,
        )
        return manifest
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise UserError(f"{path}: `{FILES}` is not a map of file names to sha256 hashes")
    rerun = f"rerun `evalharness run {manifest['config']}`" if manifest.get("config") else "rerun its config"
    for name, expected in listed.items():
        if rebuilt(name):
            continue
        file = _listed_path(folder, name)
        try:
            with open(file, "rb") as handle:
                actual = hashlib.file_digest(handle, "sha256").hexdigest()
        except FileNotFoundError as err:
            raise UserError(
                f"{file} is missing, though the manifest lists it: the run was cut off or the file was removed; {rerun}"
            ) from err
        except OSError as err:
            raise UserError(f"{file}: cannot read it ({err.strerror or err})") from err
        if actual != expected:
            raise UserError(f"{file} does not match the manifest: the run was cut off or the file was edited; {rerun}")
    return manifest


def write_results(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """Every file to a temporary name first, then each renamed into place, manifest.json last: a full disk or a
    read-only folder fails while nothing is replaced yet (the temporary files are removed), and a folder with
    its manifest is complete. Text is written as UTF-8, bytes (PNGs) as they are."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name in sorted(files, key=lambda n: n == MANIFEST):
            path = out_dir / name
            check_replaceable(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(tmp), path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(_bytes(files[name]))
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; results are ordinary files
        while staged:
            tmp_path, path = staged[0]
            os.replace(tmp_path, path)
            staged.pop(0)
    finally:
        for tmp_path, _ in staged:
            tmp_path.unlink(missing_ok=True)


def write_error(folder: Path, err: OSError, what: str, kept: str) -> UserError:
    """An OSError while writing results (a full disk, a file over the size limit, a read-only folder) as one line:
    where, why, and what stayed as it was."""
    return UserError(f"{folder}: cannot write {what} ({err.strerror or err}); {kept}")


def rewrite_results(
    folder: Path, files: dict[str, str | bytes], manifest: dict, rebuilt: Callable[[str], bool], what: str
) -> None:
    """Some files of a finished results folder written again (`evalharness report`: the plots and report.html),
    and manifest.json's hashes with them, so the folder stays whole. `rebuilt`: the names these files replace
    (the entries of a plot no longer made are dropped). A manifest without hashes is left as it was: its other
    files were never checked, so nothing would vouch for them."""
    out = dict(files)
    listed = manifest.get(FILES)
    if isinstance(listed, dict):
        kept = {name: sha for name, sha in listed.items() if not rebuilt(name)}
        out[MANIFEST] = manifest_text({**manifest, FILES: dict(sorted({**kept, **file_hashes(files)}.items()))})
    try:
        write_results(folder, out)
    except OSError as err:
        raise write_error(folder, err, what, "nothing in the folder was changed") from err


def is_results_folder(folder: Path) -> bool:
    """A folder a run wrote: its manifest.json is a run's manifest (it names the evalharness version)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "evalharness" in manifest


def replace_results_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """The whole results folder at once: built beside the old one, then swapped in by two renames, so the folder
    is always entirely one run (no stale plots or agreement.csv of an earlier run, no half-written file). An
    interruption between the renames leaves the old folder under a hidden name beside it, never a mix. A full
    disk or a file over the size limit is one line, and the earlier results stay as they were."""
    try:
        _replace_folder(out_dir, files)
    except OSError as err:
        raise write_error(
            out_dir, err, "the results folder", "nothing was written and the earlier results, if any, are unchanged"
        ) from err


def _replace_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    old: Path | None = None
    try:
        os.chmod(new, 0o777 & ~current_umask())  # mkdtemp makes 0700; a results folder is an ordinary folder
        write_results(new, files)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rmdir(old)  # a free name to move the old folder to
            os.rename(out_dir, old)
        os.rename(new, out_dir)
    except BaseException:
        if old is not None and old.exists() and not out_dir.exists():
            os.rename(old, out_dir)  # put the earlier run back
            old = None
        shutil.rmtree(new, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""What a results folder holds, declared once: its files, each file's columns, and each column's dtype.

The writer (`evalharness.results.write`), the reader (`evalharness.results.read`), the API's typed frames and the
tables, plots and report all take names from here, so a new column is declared in one place. CSV files are read
back as written (`read.read_csv`); `typed` then gives the declared dtypes, the same for a run in memory and for a
folder read back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import pandas as pd

from evalharness.statistics.agreement import COLUMNS as AGREEMENT_COLUMNS
from evalharness.statistics.compare import PAIR_FIELD, CellComparison
from evalharness.statistics.metaeval import META_COLUMNS as META_COLUMNS  # re-exported: meta.csv's columns

# ------------------------------------------------------------------------------------------------------ files

MANIFEST = "manifest.json"  # written last; its presence marks a folder as a run's results
RUN_FILE = "run.json"  # the run's circumstances (when, where, from which commit, how long, cache use): not hashed
SCORES_FILE = "scores.csv"  # tidy: one row per dataset x system x settings x level x metric
SUMMARY_FILE = "summary.csv"  # wide: one row per dataset x system x settings x level, a column per metric
SUMMARY_MD = "summary.md"
SUMMARY_TEX = "summary.tex"
SEGMENTS_FILE = "segments.jsonl"  # one JSON record per segment and cell (`SEGMENT_RECORD_KEYS`)
CONFIG_FILE = "config.yaml"  # the validated config, every default filled in
AGGREGATES_FILE = "aggregates.csv"  # mean, std, min, max over a setting (`aggregate: [seed]`), wide
PAIRWISE_FILE = "pairwise.csv"  # one row per tested pair of cells (`pairwise_columns`)
AGREEMENT_FILE = "agreement.csv"  # metric-human correlations (`AGREEMENT_COLUMNS`), with human scores only
HUMAN_FILE = "human_scores.csv"  # `HUMAN_COLUMNS`, with human scores only
META_FILE = "meta.csv"  # the meta-evaluation against human scores (`META_COLUMNS`), with human scores only
ANALYSIS_FILES = {  # evalharness.reporting.analysis's tables, by key; a file only when it has rows
    "length": "analysis/length.csv",
    "frequency": "analysis/frequency.csv",
    "ngrams": "analysis/ngrams.csv",
    "documents": "analysis/documents.csv",
}

# ---------------------------------------------------------------------------------------------- manifest.json

# The manifest's entries that differ from one run of the same config to the next (the clock, the machine, the
# checkout, what the caches held): written to run.json, so that manifest.json and the rest of a folder are the same
# bytes whenever the same config gives the same results (the committed results/seeds stays unchanged by `make run`).
RUN_KEYS = ("python", "platform", "git_commit", "argv", "started", "finished", "workers", "score_cache", "translation")
FILES = "files"  # manifest.json's list of every other file of the folder: name -> sha256 of its bytes
# manifest.json's entries (the runner's `build_manifest`); `warnings` only when the run had some.
MANIFEST_KEYS = (
    "evalharness",
    "sacrebleu",
    "config",
    "cells",
    "floors",
    "ter_statistics",
    "ngram_statistics",
    "datasets",
    "executor",
    "warnings",
    FILES,
)

# ------------------------------------------------------------------------------------------------- scores.csv

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
# scores.csv's columns; the swept settings (`sweep_columns`) come between `system` and `level`.
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
# The rows `frames.aggregate_rows` adds (`aggregate: [seed]`), marked by this text in the aggregated setting's
# column.
AGGREGATES = ("mean", "std", "min", "max")
# What every reader of scores.csv needs (a header cut off in a folder without hashes is refused with them).
REQUIRED = {"dataset", "system", "level", "metric", "score", "direction", "signature"}

# summary.csv: `dataset`, `system`, the swept settings, `level`, then per metric (in scores.csv's order) its score
# column (the label: `BLEU`) and its statistics that some row has (`BLEU ci_low`, ...), then the CELL_COLUMNS, then
# `baseline` when the run had one. aggregates.csv: the same keys and metric columns, no per-cell column.

# --------------------------------------------------------------------------------------- the other CSV files


def pairwise_columns(sweep_keys: list[str]) -> list[str]:
    """pairwise.csv's columns: each side's swept settings as `<key> a` / `<key> b`."""
    return [
        "dataset",
        "level",
        "metric",
        "system_a",
        *(f"{k} a" for k in sweep_keys),
        "system_b",
        *(f"{k} b" for k in sweep_keys),
        "score_a",
        "score_b",
        "delta",
        "human_agreement",
        "p_value",
        "better",
        "test",
        "n_samples",
    ]


HUMAN_COLUMNS = ["dataset", "system", "human_score", "kind"]

# ---------------------------------------------------------------------------------------------- segments.jsonl

# The keys of a segments.jsonl record, in the order written; `scores` maps each metric's label to its sentence
# score (a column per label in `segments_frame`).
SEGMENT_COLUMNS = [
    "dataset",
    "system",
    "settings",
    "level",
    "segment",
    "doc_id",
    "source_ids",
    "source",
    "pivot",
    "pivot_lang",
    "references",
    "hypothesis",
    "hypothesis_lang",
]
SEGMENT_RECORD_KEYS = [*SEGMENT_COLUMNS, "scores"]

# ----------------------------------------------------------------------------------------------------- dtypes

Dtype = Literal["string", "boolean", "Int64", "float64"]

# Columns that hold names, never numbers or missing values: a system called `NA`, `null` or `1` stays itself
# (`read.read_csv` reads them as text).
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
    "kind",
    "grouping",
    "section",
    "statistic",
    "metric_b",
    "human",
    "method",
]
FLOAT_COLUMNS = [
    "score",
    "ci_low",
    "ci_high",
    "p_value",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "human_agreement",
    "off_target_rate",
    "pivot_on_target_rate",
    "human_score",
    "score_a",
    "score_b",
    "value",
    *(c for c in AGREEMENT_COLUMNS if c not in ("dataset", "metric", "n_systems")),
]
INT_COLUMNS = [
    "rank",
    "rank_low",
    "rank_high",
    "n_segments",
    "empty_outputs",
    "unaligned_sources",
    "unaligned_references",
    "segment",
    "n_samples",
    "n_systems",
    "n_items",
    "cluster",
]
BOOL_COLUMNS = ["significant", "significantly_worse", "valid"]
# Every named column's dtype. A metric's statistics column in the summary (`BLEU ci_low`) has its statistic's
# dtype, a metric's own column (`BLEU`) is a score (float64), `<key> baseline` a name; a swept setting's column
# (`sweep_columns`) is typed by its values (`typed_setting`).
DTYPES: dict[str, Dtype] = {
    **{c: "string" for c in TEXT_COLUMNS},
    **{c: "float64" for c in FLOAT_COLUMNS},
    **{c: "Int64" for c in INT_COLUMNS},
    **{c: "boolean" for c in BOOL_COLUMNS},
}
# segments.jsonl's columns in `segments_frame` (`settings` a dict, `references` and `source_ids` lists: objects).
SEGMENT_TEXT = [
    "dataset",
    "system",
    "level",
    "doc_id",
    "source",
    "pivot",
    "pivot_lang",
    "hypothesis",
    "hypothesis_lang",
]
SEGMENT_DTYPES: dict[str, Dtype] = {**{c: "string" for c in SEGMENT_TEXT}, "segment": "Int64"}


def missing(value: Any) -> bool:
    """An empty cell of the project's frames: None, pandas' NA or a float NaN (never the text 'NA' or 'null')."""
    if value is None or value is pd.NA:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def sweep_columns(scores: pd.DataFrame) -> list[str]:
    """The swept settings: the columns between `system` and `level`."""
    cols = list(scores.columns)
    return cols[cols.index("system") + 1 : cols.index("level")]


def setting_columns(header: list[str]) -> list[str]:
    """The swept settings' columns of a run's CSV: between `system` and `level` (scores, summary), or each side's
    `<key> a` / `<key> b` (pairwise)."""
    if "system" in header and "level" in header and header.index("system") < header.index("level"):
        return header[header.index("system") + 1 : header.index("level")]
    if {"system_a", "system_b", "score_a"} <= set(header):
        a, b, end = header.index("system_a"), header.index("system_b"), header.index("score_a")
        return header[a + 1 : b] + header[b + 1 : end]
    return []


INTEGER_TEXT = r"-?[0-9]+"


def typed_setting(column: pd.Series) -> pd.Series:
    """A swept setting's column as written: whole numbers as integers (Int64, so gaps stay gaps: seed 1, not
    1.0), other numbers as floats, anything else (labels, JSON, `mean` rows) as text."""
    present = column.dropna().astype(str)
    if present.str.fullmatch(INTEGER_TEXT).all() and len(present):
        return column.astype("Int64")
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all() and not present.isin(["True", "False"]).any():
        return pd.to_numeric(column)
    return column


def dtype_of(column: str, frame: pd.DataFrame) -> Dtype | None:
    """The declared dtype of a column of one of the folder's tables; None for a swept setting (typed by its
    values) and for a column the schema does not name."""
    if column in DTYPES:
        return DTYPES[column]
    name, _, stat = column.rpartition(" ")
    if name and stat in DTYPES and (DTYPES[stat] != "string" or stat == "baseline"):  # `BLEU ci_low`
        return DTYPES[stat]
    if "metric" not in frame.columns and "level" in frame.columns and column in metric_columns(frame):
        return "float64"  # the summary's per-metric score columns
    return None


def metric_columns(summary: pd.DataFrame) -> list[str]:
    """The summary's metric columns: after `level`, the names the schema does not declare otherwise."""
    columns = [str(c) for c in summary.columns]
    after = columns[columns.index("level") + 1 :]
    return [c for c in after if " " not in c and c not in DTYPES]


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the declared dtypes: the same columns get the same dtypes from memory and from a CSV."""
    frame = frame.copy()
    for column in frame.columns:
        kind = dtype_of(str(column), frame)
        if kind is not None:
            frame[column] = frame[column].astype(kind)
    return frame


def segments_frame(records: list[dict]) -> pd.DataFrame:
    """segments.jsonl as a frame: one row per segment and cell, a float column per metric's sentence score
    (`settings` a dict, `references` and `source_ids` lists)."""
    metrics = list(dict.fromkeys(label for record in records for label in record.get("scores") or {}))
    rows = [
        {
            **{k: record.get(k) for k in SEGMENT_COLUMNS},
            **{label: (record.get("scores") or {}).get(label) for label in metrics},
        }
        for record in records
    ]
    frame = pd.DataFrame.from_records(rows, columns=SEGMENT_COLUMNS + metrics)
    for column, kind in SEGMENT_DTYPES.items():
        frame[column] = frame[column].astype(kind)
    for label in metrics:
        frame[label] = frame[label].astype("float64")
    return frame


@dataclass
class RunData:
    """What a results folder holds, as frames and records: what the runner writes from memory and what
    `read.read_folder` reads back (the report is built from either)."""

    run_name: str
    scores: pd.DataFrame  # scores.csv (tidy)
    summary: pd.DataFrame  # summary.csv (wide)
    segments: list[dict]  # segments.jsonl, one dict per line
    manifest: dict  # manifest.json
    agreement: pd.DataFrame | None = None  # agreement.csv, datasets with human scores
    human: pd.DataFrame | None = None  # human_scores.csv: dataset, system, human_score, kind
    meta: pd.DataFrame | None = None  # meta.csv, datasets with human scores
    analysis: dict[str, str] = field(default_factory=dict)  # analysis/*.csv by path (ANALYSIS_FILES)

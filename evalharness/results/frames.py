"""A run's values as the tables and records of its results folder: scores -> the tidy table (scores.csv), the
wide summary, the aggregates over seeds, the tested pairs, the human scores, and one segments.jsonl record.

The frames hold full float precision and nothing that changes between identical runs (no times, no machine
paths), so a rerun gives byte-identical `scores.csv` and `summary.csv`. Columns and file names: `schema`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evalharness.results.schema import (
    AGGREGATES,
    CELL_COLUMNS,
    HUMAN_COLUMNS,
    SEGMENT_RECORD_KEYS,
    STAT_COLUMNS,
    TIDY_COLUMNS,
    missing,
    pairwise_columns,
    sweep_columns,
    typed_setting,
)
from evalharness.statistics.compare import CellComparison
from evalharness.statistics.humanterms import human_agreement


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
        frame[key] = typed_setting(frame[key].map(lambda v: None if missing(v) else str(v)).astype(object))
    return frame


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
        frame[key] = typed_setting(frame[key].map(lambda v: None if missing(v) else str(v)).astype(object))
    return frame


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
    curve: str | None = None  # the metric's curve in mt_thresholds (statistics.humanterms); None: it has none


def pairwise_frame(pairs: list[PairRow], sweep_keys: list[str]) -> pd.DataFrame:
    """pairwise.csv: one row per dataset x metric x tested pair (each pair once, in run order), the swept settings
    of each side as `<key> a` / `<key> b`; `delta` = score_a - score_b, `human_agreement` that delta in human terms
    where the metric has a curve (`statistics.humanterms`)."""
    keys_a, keys_b = [f"{k} a" for k in sweep_keys], [f"{k} b" for k in sweep_keys]
    columns = pairwise_columns(sweep_keys)
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
            human_agreement=human_agreement(delta, pair.curve),
            p_value=pair.p_value,
            better=pair.better,
            test=pair.test,
            n_samples=pair.n_samples,
        )
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for key in keys_a + keys_b:  # typed as in scores.csv (a seed is 1, not 1.0, beside a system without it)
        values = [None if missing(r[key]) else str(r[key]) for r in records]
        frame[key] = typed_setting(pd.Series(values, index=frame.index, dtype=object))
    return frame


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
    """One line of segments.jsonl (before `json.dumps`): a cell's `segment`-th segment (1-based), its texts, the
    languages identified in them and each metric's sentence score by label. Named arguments, so that a record
    cannot be built with two texts swapped; the keys in the order written (`schema.SEGMENT_RECORD_KEYS`)."""
    values = {
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
    return {key: values[key] for key in SEGMENT_RECORD_KEYS}

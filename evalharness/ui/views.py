"""What the pages show, as plain functions over the folders' frames: the leaderboard view, the paired segment
table of two cells with its filters, sort and pages, word-level differences, the corpus deltas of a pair, the
all-pairs p-value matrix. Vectorised (pandas/numpy) where a huge run passes through them on every rerun; no
Streamlit here, so each is unit-tested on its own.
"""

from __future__ import annotations

import difflib
import html
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness import csvsafe
from evalharness.reporting.analysis import LENGTH_BUCKETS, LENGTH_LAST, tokens
from evalharness.reporting.rows import latex_escape
from evalharness.results import aggregate_mask, missing, sweep_columns
from evalharness.statistics.significance import clusters_from_pvalues

PAGE_ROWS = 50  # segment rows per page of the compare table
ALL = "(all)"  # the filter value that keeps every row

# ------------------------------------------------------------------------------------------------ downloads


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as the run's CSV files are written (`csvsafe.to_csv`: formula-looking cells defused)."""
    return csvsafe.to_csv(frame).encode("utf-8")


def latex_table(frame: pd.DataFrame, caption: str = "", decimals: int = 2) -> str:
    """A plain booktabs table of any view (numbers at `decimals`), for views that are not a summary (the paper
    table of a summary is `reporting.latex.paper_latex`)."""

    def cell(value) -> str:
        if missing(value):
            return ""
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.{decimals}f}"
        return latex_escape(str(value))

    columns = [str(c) for c in frame.columns]
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        "\\begin{tabular}{" + "".join("r" if pd.api.types.is_numeric_dtype(frame[c]) else "l" for c in frame) + "}",
        "\\toprule",
        " & ".join(latex_escape(c) for c in columns) + " \\\\",
        "\\midrule",
        *(" & ".join(cell(v) for v in row) + " \\\\" for row in frame.itertuples(index=False, name=None)),
        "\\bottomrule",
        "\\end{tabular}",
        *([f"\\caption{{{latex_escape(caption)}}}"] if caption else []),
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- leaderboard


def metrics_of(scores: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(str(m) for m in scores["metric"]))


def directions_from(scores: pd.DataFrame) -> dict[str, bool]:
    """Metric -> higher is better, from scores.csv's `direction` column."""
    first = scores.drop_duplicates("metric")
    return {str(m): str(d) != "lower" for m, d in zip(first["metric"], first["direction"], strict=True)}


def _text_values(column: pd.Series) -> pd.Series:
    return column.map(lambda v: "" if missing(v) else str(v))


def filter_summary(
    summary: pd.DataFrame,
    datasets: list[str] | None = None,
    levels: list[str] | None = None,
    systems: list[str] | None = None,
    settings: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """The summary's rows of the chosen datasets, levels, systems and swept-setting values (as text; None or
    empty: every value)."""
    keep = pd.Series(True, index=summary.index)
    for column, values in (("dataset", datasets), ("level", levels), ("system", systems)):
        if values:
            keep &= summary[column].astype(str).isin(values)
    for key, values in (settings or {}).items():
        if values and key in summary.columns:
            keep &= _text_values(summary[key]).isin(values)
    return summary[keep]


def rank_range(low, high) -> str:
    """A rank range as WMT prints it: `1` or `1–3`; empty without ranks."""
    if missing(low) or missing(high):
        return ""
    return f"{int(low)}" if int(low) == int(high) else f"{int(low)}–{int(high)}"


def significance_mark(significant, worse, delta, higher: bool) -> str:
    """† significantly better than the baseline, ‡ significantly worse (as the paper table marks them)."""
    if str(worse) == "True":
        return "‡"
    if str(significant) == "True" and not missing(delta) and (float(delta) > 0 if higher else float(delta) < 0):
        return "†"
    return ""


def leaderboard_view(
    summary: pd.DataFrame, metrics: list[str], directions: dict[str, bool], sort_by: str | None = None
) -> pd.DataFrame:
    """The leaderboard of a (filtered) summary: the key columns, then per metric its score, CI, p-value against
    the baseline, the mark (†/‡) and the rank range where the run has them; best first by `sort_by` (default:
    the first metric) within each dataset and level. Numbers are the summary's own, unrounded."""
    keys = [c for c in summary.columns[: list(summary.columns).index("level") + 1]]
    columns: dict[str, pd.Series] = {k: summary[k] for k in keys}
    for metric in metrics:
        if metric not in summary.columns:
            continue
        columns[metric] = pd.to_numeric(summary[metric], errors="coerce")
        for stat in ("ci_low", "ci_high", "p_value"):
            if f"{metric} {stat}" in summary.columns:
                columns[f"{metric} {stat}"] = pd.to_numeric(summary[f"{metric} {stat}"], errors="coerce")
        if f"{metric} significant" in summary.columns:
            sig = summary[f"{metric} significant"]
            worse = summary.get(f"{metric} significantly_worse", pd.Series("", index=summary.index))
            delta = summary.get(f"{metric} delta", pd.Series(np.nan, index=summary.index))
            columns[f"{metric} sig"] = pd.Series(
                [
                    significance_mark(s, w, d, directions.get(metric, True))
                    for s, w, d in zip(sig, worse, delta, strict=True)
                ],
                index=summary.index,
            )
        if f"{metric} rank_low" in summary.columns:
            columns[f"{metric} ranks"] = pd.Series(
                [
                    rank_range(lo, hi)
                    for lo, hi in zip(summary[f"{metric} rank_low"], summary[f"{metric} rank_high"], strict=True)
                ],
                index=summary.index,
            )
    view = pd.DataFrame(columns, index=summary.index)
    by = sort_by if sort_by in view.columns else next((m for m in metrics if m in view.columns), None)
    if by is None or view.empty:
        return view
    groups = [k for k in ("dataset", "level") if k in view.columns]
    order = view.assign(_group=view.groupby(groups, sort=False).ngroup() if groups else 0)
    order = order.sort_values(
        ["_group", by], ascending=[True, not directions.get(by, True)], na_position="last", kind="stable"
    )
    return view.loc[order.index]


# ------------------------------------------------------------------------------------------------- compare


def length_bucket(source: str, lang: str) -> str:
    """compare-mt's source-length bucket of a segment (`reporting.analysis`'s buckets and tokens)."""
    n = len(tokens(source, lang))
    return next((label for label, low, high in LENGTH_BUCKETS if low <= n <= high), LENGTH_LAST[0])


def pair_segments(
    a: pd.DataFrame, b: pd.DataFrame, metrics: list[str], source_lang: str, target_lang: str
) -> pd.DataFrame:
    """One row per segment both cells scored (`a`, `b`: one cell's rows of segments.jsonl each, one dataset and
    level): source, references, both hypotheses, every metric's score of A and of B and their difference
    (A - B), the source-length bucket and whether either hypothesis is off target (not in `target_lang`)."""
    a, b = a.set_index("segment"), b.set_index("segment")
    common = a.index.intersection(b.index, sort=False)
    a, b = a.loc[common], b.loc[common]
    out = pd.DataFrame(
        {
            "segment": common.astype("int64"),
            "doc_id": a["doc_id"].astype(object).to_numpy(),
            "source": a["source"].astype(object).to_numpy(),
            "references": [lines_of(refs) for refs in a["references"]],
            "A": a["hypothesis"].astype(object).to_numpy(),
            "B": b["hypothesis"].astype(object).to_numpy(),
        }
    )
    for metric in metrics:
        if metric in a.columns and metric in b.columns:
            score_a, score_b = a[metric].to_numpy(dtype=float), b[metric].to_numpy(dtype=float)
            out[f"{metric} A"], out[f"{metric} B"], out[f"{metric} Δ"] = score_a, score_b, score_a - score_b
    out["length"] = [length_bucket(str(s or ""), source_lang) for s in out["source"]]
    lang_a, lang_b = a["hypothesis_lang"].astype(object).to_numpy(), b["hypothesis_lang"].astype(object).to_numpy()
    out["off_target"] = [
        (not missing(x) and str(x) != target_lang) or (not missing(y) and str(y) != target_lang)
        for x, y in zip(lang_a, lang_b, strict=True)
    ]
    return out


def lines_of(texts) -> str:
    """A segment's references (a list, an array, or missing) as one text, a line each."""
    return "" if texts is None or (isinstance(texts, float) and math.isnan(texts)) else "\n".join(map(str, texts))


@dataclass(frozen=True)
class SegmentFilter:
    """The compare page's filters: source-length bucket, document, text (in any text column, case-insensitive),
    only segments with an off-target hypothesis."""

    length: str = ALL
    document: str = ALL
    text: str = ""
    off_target: bool = False


def filter_segments(pairs: pd.DataFrame, chosen: SegmentFilter) -> pd.DataFrame:
    keep = np.ones(len(pairs), dtype=bool)
    if chosen.length != ALL:
        keep &= (pairs["length"] == chosen.length).to_numpy()
    if chosen.document != ALL:
        keep &= (pairs["doc_id"].astype(str) == chosen.document).to_numpy()
    if chosen.off_target:
        keep &= pairs["off_target"].to_numpy(dtype=bool)
    if chosen.text:
        found = np.zeros(len(pairs), dtype=bool)
        for column in ("source", "references", "A", "B"):
            texts = pairs[column].astype(str).str.lower()
            found |= texts.str.contains(chosen.text.lower(), regex=False).to_numpy()
        keep &= found
    return pairs[keep]


def sort_segments(pairs: pd.DataFrame, metric: str, a_better_first: bool, higher: bool = True) -> pd.DataFrame:
    """Rows by the per-segment difference of `metric`: where A beats B most first (or B beats A most), in the
    metric's direction; ties and missing scores after, in segment order."""
    column = f"{metric} Δ"
    if column not in pairs.columns:
        return pairs
    gain = pairs[column].to_numpy(dtype=float) * (1.0 if higher else -1.0)
    key = -gain if a_better_first else gain
    key = np.where(np.isnan(key), np.inf, key)
    order = np.lexsort((pairs["segment"].to_numpy(), key))
    return pairs.iloc[order]


def reading_columns(pairs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The segment table's columns in reading order: the segment, the sorted-by difference, both hypotheses, the
    references and the source first (the wide texts last would push the hypotheses off screen), then the rest."""
    first = [c for c in ("segment", f"{metric} Δ", "A", "B", "references", "source") if c in pairs.columns]
    return pairs[first + [c for c in pairs.columns if c not in first]]


def page_of(frame: pd.DataFrame, page: int, rows: int = PAGE_ROWS) -> pd.DataFrame:
    """Page `page` (1-based) of a table, clamped to the pages there are."""
    pages = max(1, math.ceil(len(frame) / rows))
    page = min(max(1, page), pages)
    return frame.iloc[(page - 1) * rows : page * rows]


def pages(n_rows: int, rows: int = PAGE_ROWS) -> int:
    return max(1, math.ceil(n_rows / rows))


def word_diff(a: str, b: str) -> tuple[str, str]:
    """HTML of two texts with the words only one of them has marked (difflib on whitespace tokens): `<del>` in
    `a`, `<ins>` in `b`; the rest escaped as is."""
    words_a, words_b = a.split(), b.split()
    out_a: list[str] = []
    out_b: list[str] = []
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        part_a, part_b = html.escape(" ".join(words_a[i1:i2])), html.escape(" ".join(words_b[j1:j2]))
        if op == "equal":
            out_a.append(part_a)
            out_b.append(part_b)
            continue
        if part_a:
            out_a.append(f"<del>{part_a}</del>")
        if part_b:
            out_b.append(f"<ins>{part_b}</ins>")
    return " ".join(out_a), " ".join(out_b)


# ------------------------------------------------------------------------------------------- corpus deltas


def _cell_scores(scores: pd.DataFrame, dataset: str, level: str) -> pd.DataFrame:
    from evalharness.ui.data import with_cells

    rows = scores[(scores["dataset"].astype(str) == dataset) & (scores["level"].astype(str) == level)]
    rows = rows[~aggregate_mask(rows)] if len(rows) else rows  # a mean over seeds is no cell to test
    return rows.assign(cell=with_cells(rows, sweep_columns(scores)))


def corpus_deltas(
    scores: pd.DataFrame, pairwise: pd.DataFrame | None, dataset: str, level: str, cell_a: str, cell_b: str
) -> pd.DataFrame:
    """Per metric: both cells' corpus scores, delta A - B, the paired test's p-value (pairwise.csv, either
    order) and the delta's bootstrap CI (scores.csv, where one of the two is the run's baseline), with where the
    p-value came from; empty where the run did not test this pair."""
    rows = _cell_scores(scores, dataset, level)
    out = []
    for metric in metrics_of(rows):
        of = {str(r["cell"]): r for r in rows[rows["metric"] == metric].to_dict("records")}
        if cell_a not in of or cell_b not in of:
            continue
        a, b = of[cell_a], of[cell_b]
        row: dict[str, Any] = {"metric": metric, "A": float(a["score"]), "B": float(b["score"])}
        row["delta"] = row["A"] - row["B"]
        row["p_value"], row["delta_ci_low"], row["delta_ci_high"], row["tested"] = np.nan, np.nan, np.nan, ""
        for cell, other, sign in ((a, b, 1.0), (b, a, -1.0)):  # one of them against the other as the baseline
            if _against_baseline(cell) and _is_baseline(other):
                row["p_value"], row["tested"] = float(cell["p_value"]), "scores.csv (against the baseline)"
                if not missing(cell.get("delta_ci_low")):
                    low, high = float(cell["delta_ci_low"]) * sign, float(cell["delta_ci_high"]) * sign
                    row["delta_ci_low"], row["delta_ci_high"] = min(low, high), max(low, high)
        p = pair_p_value(pairwise, dataset, level, metric, cell_a, cell_b)
        if p is not None:
            row["p_value"], row["tested"] = p, "pairwise.csv"
        out.append(row)
    columns = ["metric", "A", "B", "delta", "p_value", "delta_ci_low", "delta_ci_high", "tested"]
    return pd.DataFrame(out, columns=columns)


def _against_baseline(row: dict) -> bool:
    """A scores.csv row tested against the run's baseline (it has a baseline and a p-value)."""
    return not missing(row.get("baseline")) and not missing(row.get("p_value"))


def _is_baseline(row: dict) -> bool:
    """The run's baseline's own row: the run has a baseline, and this row no test against it (no p-value, no
    delta)."""
    return not missing(row.get("baseline")) and missing(row.get("p_value")) and missing(row.get("delta"))


def pair_p_value(
    pairwise: pd.DataFrame | None, dataset: str, level: str, metric: str, cell_a: str, cell_b: str
) -> float | None:
    """The p-value of the pair from pairwise.csv (it lists each pair once, in either order); None: not tested."""
    if pairwise is None or pairwise.empty:
        return None
    rows = pairwise[
        (pairwise["dataset"].astype(str) == dataset)
        & (pairwise["level"].astype(str) == level)
        & (pairwise["metric"].astype(str) == metric)
        & (
            ((pairwise["cell_a"] == cell_a) & (pairwise["cell_b"] == cell_b))
            | ((pairwise["cell_a"] == cell_b) & (pairwise["cell_b"] == cell_a))
        )
    ]
    return None if rows.empty or missing(rows["p_value"].iloc[0]) else float(rows["p_value"].iloc[0])


# ---------------------------------------------------------------------------------------------- significance


def p_value_matrix(
    scores: pd.DataFrame, pairwise: pd.DataFrame | None, dataset: str, level: str, metric: str, higher: bool = True
) -> pd.DataFrame:
    """The all-pairs p-values of one dataset, level and metric (pairwise.csv): a square frame over the cells,
    best first by score; NaN on the diagonal and where a pair was not tested."""
    rows = _cell_scores(scores, dataset, level)
    rows = rows[(rows["metric"].astype(str) == metric) & rows["score"].notna()]
    ordered = rows.sort_values(["score", "cell"], ascending=[not higher, True], kind="stable")["cell"].tolist()
    matrix = pd.DataFrame(np.nan, index=pd.Index(ordered, name="system"), columns=ordered, dtype=float)
    if pairwise is not None and not pairwise.empty:
        tested = pairwise[
            (pairwise["dataset"].astype(str) == dataset)
            & (pairwise["level"].astype(str) == level)
            & (pairwise["metric"].astype(str) == metric)
        ]
        for a, b, p in zip(tested["cell_a"], tested["cell_b"], tested["p_value"], strict=True):
            if a in matrix.index and b in matrix.index and not missing(p):
                matrix.at[a, b] = matrix.at[b, a] = float(p)
    return matrix


def clusters(
    scores: pd.DataFrame, matrix: pd.DataFrame, dataset: str, level: str, metric: str, higher: bool, alpha: float
) -> pd.DataFrame | None:
    """Each cell's score, WMT cluster and rank range from the matrix (`statistics.clusters_from_pvalues`); None
    unless every pair was tested (a run without `all_pairs` tests against its baseline only)."""
    cells = list(matrix.index)
    off_diagonal = ~np.eye(len(cells), dtype=bool)
    if len(cells) < 2 or np.isnan(matrix.to_numpy()[off_diagonal]).any():
        return None
    rows = _cell_scores(scores, dataset, level)
    of = rows[rows["metric"].astype(str) == metric]
    values = {str(c): float(v) for c, v in zip(of["cell"], of["score"], strict=True)}
    grid = matrix.to_numpy(dtype=float)
    p_values = {(a, b): float(grid[i, j]) for i, a in enumerate(cells) for j, b in enumerate(cells) if i != j}
    ranked = clusters_from_pvalues(values, p_values, higher, alpha)
    return pd.DataFrame(
        {
            "system": [r.name for r in ranked],
            metric: [r.score for r in ranked],
            "cluster": [r.cluster for r in ranked],
            "ranks": [rank_range(r.rank_best, r.rank_worst) for r in ranked],
        }
    )


def read_back(text: str) -> pd.DataFrame:
    """A downloaded CSV read back (for tests and checks): only empty cells missing, as the run's reader."""
    return csvsafe.read_back(pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""]))

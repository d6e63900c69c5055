"""Rendering score tables as CSV, Markdown, LaTeX (booktabs) or JSON.

CSV and JSON keep full precision; Markdown and LaTeX round to two decimals (`decimals`) for reading and list the
sacrebleu signatures under the table, since a score without its signature cannot be compared. On a terminal
(`width`) the Markdown summary is the compact view: a cell per metric, split into blocks where one table would
not fit.
"""

from __future__ import annotations

import fnmatch
import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from evalharness.errors import UserError

# Defined where the command line can read them without pandas; here too for the callers that render tables.
from evalharness.reporting.formats import FORMATS as FORMATS
from evalharness.reporting.formats import MAX_DECIMALS as MAX_DECIMALS
from evalharness.reporting.formats import terminal_width as terminal_width
from evalharness.reporting.rows import (
    SORT_KEYS,
    _baseline_rows,
    _is_true,
    _setting,
    _spread_rows,
    key_columns,
    latex_escape,
)
from evalharness.results import CELL_COLUMNS, missing, to_csv


def signature_notes(scores: pd.DataFrame) -> list[str]:
    """'metric (direction): signature' for every distinct signature in a tidy table."""
    notes = []
    signed = scores[scores["signature"].fillna("").astype(str) != ""]
    for (metric, direction, signature), _ in signed.groupby(["metric", "direction", "signature"], sort=False):
        arrow = "higher is better" if direction == "higher" else "lower is better"
        notes.append(f"{metric} ({arrow}): {signature}")
    return notes


def directions_of(scores: pd.DataFrame) -> dict[str, bool]:
    """Metric label -> higher is better, from a tidy table."""
    return {m: d == "higher" for m, d in zip(scores["metric"], scores["direction"], strict=True)}


def _cell(value, decimals: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def marked(frame: pd.DataFrame, directions: dict[str, bool], fmt: str, decimals: int = 2) -> pd.DataFrame:
    """A summary as text: `decimals` decimals, the best score of each dataset and level in bold (respecting the
    metric's direction), a dagger on scores significantly better than the baseline, a double dagger on scores
    significantly worse."""
    bold = (lambda t: f"**{t}**") if fmt == "md" else (lambda t: f"\\textbf{{{t}}}")
    dagger = "†" if fmt == "md" else "$^\\dagger$"
    ddagger = "‡" if fmt == "md" else "$^\\ddagger$"
    esc = (lambda t: t) if fmt == "md" else latex_escape
    out = frame.astype(object).copy()
    for column in frame.columns:
        if column not in directions:
            out[column] = [esc(_cell(v, decimals)) for v in frame[column]]
    groups = [frame[k] for k in ("dataset", "level") if k in frame.columns]
    for metric, higher in directions.items():
        if metric not in frame.columns:
            continue
        values = pd.to_numeric(frame[metric], errors="coerce")
        # An invalid cell (a round trip through a pivot that is not the pivot language) is never "best", nor is
        # a std, min or max row over seeds (`aggregate`).
        eligible = values.where(frame["valid"].astype(str) != "False") if "valid" in frame.columns else values
        eligible = eligible.where(~_spread_rows(frame))
        best = (
            eligible.groupby(groups).transform("max" if higher else "min")
            if groups
            else eligible.agg("max" if higher else "min")
        )
        significant = frame.get(f"{metric} significant")
        worse = frame.get(f"{metric} significantly_worse")
        baseline = frame["baseline"] if "baseline" in frame.columns else None
        base_rows: dict[str, pd.Series] = {}
        texts = []
        for idx in frame.index:
            value = values[idx]
            if pd.isna(value):
                texts.append("")
                continue
            text = f"{value:.{decimals}f}"
            if value == (best[idx] if groups else best) and not pd.isna(eligible[idx]):
                text = bold(text)
            if significant is not None and _is_true(significant[idx]) and baseline is not None:
                if str(baseline[idx]) not in base_rows:
                    base_rows[str(baseline[idx])] = _baseline_rows(frame, str(baseline[idx]))
                same = (
                    base_rows[str(baseline[idx])]
                    & (frame["dataset"] == frame["dataset"][idx])
                    & (frame["level"] == frame["level"][idx] if "level" in frame.columns else True)
                )
                base_value = values[same].iloc[0] if same.any() else None
                if base_value is not None and (value > base_value if higher else value < base_value):
                    text += dagger  # runs before significantly_worse existed marked losses significant too
            if worse is not None and _is_true(worse[idx]):
                text += ddagger
            texts.append(text)
        out[metric] = texts
    return out


# What Markdown or the HTML it may hold reads as markup in a name: HTML tags and entities, the `|` that ends a
# table cell, backslash escapes, code, emphasis and links; and any control character left in a name read from an
# older CSV (a newline would end the row).
_MD_MARKUP = re.compile(r"[&<>|\\`*\[\]\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md_text(text: str) -> str:
    """A name as Markdown text, shown as it is and never run: its markup characters as HTML entities
    (`<script>` -> `&lt;script&gt;`, `a|b` -> `a&#124;b`)."""
    return _MD_MARKUP.sub(lambda m: _ENTITIES.get(m.group(), f"&#{ord(m.group())};"), text)


def md_escape(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame of data (names, signatures) for a Markdown table: every text cell and header as `md_text`."""
    escaped = frame.map(lambda v: md_text(v) if isinstance(v, str) else v)
    return escaped.rename(columns=lambda c: md_text(c) if isinstance(c, str) else c)


def render(
    frame: pd.DataFrame,
    fmt: str,
    notes: list[str] | None = None,
    directions: dict[str, bool] | None = None,
    metrics: list[str] | None = None,
    columns: list[str] | None = None,
    sort: str | None = None,
    decimals: int | None = None,
    width: int | None = None,
    full_table: str | None = None,
) -> str:
    """`directions` (metric -> higher is better) makes a summary a table for reading: in md the `select`ed view
    (marked, p-values as `<0.001`), in LaTeX the paper table (`paper_latex`); csv and json stay the whole summary
    unless `metrics`, `columns` or `sort` choose a view. Without `directions` (the tidy table) every format is
    the frame as it is. `decimals`: of scores in md (default 2; csv and json keep full precision). `width`: the
    md summary for a terminal that wide (`terminal_md`), with `full_table` said under it."""
    notes = notes or []
    if decimals is not None and fmt in ("csv", "json"):
        raise UserError("--decimals: only for md and LaTeX (csv and json keep full precision)")
    places = 2 if decimals is None else decimals
    if directions and fmt in ("md", "latex"):
        view = select(frame, directions, metrics, columns, sort)
        notes = _shown_signatures(notes, directions, _pick_metrics(directions, frame, metrics))
        if fmt == "latex":
            from evalharness.reporting.latex import paper_latex  # here: latex builds on this module's views

            signatures = [note for note in notes if not note.startswith(NOTE)]
            return paper_latex(frame, view, directions, signatures, columns, decimals=places, sort=sort)
        if width is not None:
            return terminal_md(
                frame, view, directions, notes, width, places, compact=columns is None, full_table=full_table
            )
        text = readable(frame, view, directions, places).to_markdown(index=False, disable_numparse=True)
        return text + "\n" + "".join(f"\n- {note}" for note in _with_view_notes(notes, frame, view)) + "\n"
    if directions and (metrics or columns or sort):
        frame = select(frame, directions, metrics, columns, sort)
    elif directions:  # the whole summary, in the order summary.csv has it
        frame = reading_order(frame, directions)
    if fmt == "csv":
        return to_csv(frame)
    if fmt == "json":
        # json.dumps, not DataFrame.to_json: the latter rounds floats to 15 digits.
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return json.dumps(records, indent=2, ensure_ascii=False, default=lambda o: o.item()) + "\n"
    if fmt == "md":
        cells = md_escape(frame.astype(object).where(frame.notna(), ""))
        for k, column in enumerate(frame.columns):  # after the escaping: `<0.001` is no markup
            if _is_p_value(column):
                cells.iloc[:, k] = [format_p(v) for v in frame[column]]
        table = cells.to_markdown(index=False, floatfmt=f".{places}f")
        return table + "\n" + "".join(f"\n- {note}" for note in notes) + ("\n" if notes else "")
    if fmt == "latex":
        # Styler escapes the cells; the headers (off_target_rate, ...) need it too.
        frame = _p_values_as_text(frame).rename(
            columns=lambda c: str(c).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
        )
        styler = frame.style.format(precision=places, na_rep="", escape="latex").hide(axis="index")
        table = styler.to_latex(hrules=True, column_format="l" * len(frame.columns))
        if notes:
            escaped = [note.replace("_", r"\_").replace("|", r"$|$").replace("%", r"\%") for note in notes]
            table += "\\par\\smallskip\\footnotesize\n" + "".join(f"{note}\\\\\n" for note in escaped)
        return table
    raise ValueError(f"unknown format {fmt!r}")


def _with_view_notes(notes: list[str], full: pd.DataFrame, view: pd.DataFrame, compact: bool = False) -> list[str]:
    """The caller's notes, then what the view's marks and statistics mean (a leaderboard says itself what bold
    means: best across runs), the notes on few segments last."""
    bold_said = any(note.startswith("bold:") for note in notes)
    said = [n for n in view_notes(full, view, compact) if not (bold_said and n.startswith("bold:"))]
    return [n for n in notes if not n.startswith(NOTE)] + said + [n for n in notes if n.startswith(NOTE)]


def _is_p_value(column) -> bool:
    return str(column) == "p_value" or str(column).endswith(" p_value")


def _p_values_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The p-value columns of a frame (the tidy table's `p_value`, a summary's `BLEU p_value`) as `format_p`
    prints them: a rounded 0.00 would read as impossible certainty."""
    names = [c for c in frame.columns if _is_p_value(c)]
    if not names:
        return frame
    frame = frame.copy()
    for name in names:
        frame[name] = [format_p(v) for v in frame[name]]
    return frame


def pick_datasets(frame: pd.DataFrame, patterns: list[str] | None, where: str = "--datasets") -> pd.DataFrame:
    """The rows of the datasets named (exact names or globs: `wmt22-*`), in the frame's order; a name or glob that
    matches no dataset is a one-line error listing the datasets there are."""
    if not patterns:
        return frame
    names = list(dict.fromkeys(frame["dataset"].astype(str)))
    keep: set[str] = set()
    for pattern in patterns:
        matched = [name for name in names if fnmatch.fnmatchcase(name, str(pattern))]
        if not matched:
            raise UserError(f"{where}: no dataset matches {str(pattern)!r} (datasets: {', '.join(names)})")
        keep.update(matched)
    return frame[frame["dataset"].astype(str).isin(keep)]


NOTE = "note: "  # the notes that warn (few segments); never a signature
FEW_SEGMENTS = 50  # below this many segments, CIs, p-values and ranks say little


def few_segments_notes(scores: pd.DataFrame) -> list[str]:
    """One note per dataset whose p-values or ranks rest on fewer than `FEW_SEGMENTS` segments (a test set of 8
    sentences gets `<0.001` as readily as WMT's 2000)."""
    stats = {"p_value": "p-values", "rank_low": "ranks"}
    if "n_segments" not in scores.columns:
        return []
    notes = []
    for dataset, rows in scores.groupby("dataset", sort=False):
        shown = [what for column, what in stats.items() if column in rows and rows[column].notna().any()]
        tested = rows[rows[[c for c in stats if c in rows]].notna().any(axis=1)] if shown else rows.iloc[:0]
        counts = pd.to_numeric(tested["n_segments"], errors="coerce").dropna()
        if not shown or counts.empty or counts.min() >= FEW_SEGMENTS:
            continue
        what = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        low, high = int(counts.min()), int(counts.max())
        n = str(low) if low == high else f"{low}–{high}"
        notes.append(
            f"{NOTE}{what} of {md_text(str(dataset))} rest on {n} segments; fewer than {FEW_SEGMENTS} segments say "
            f"little"
        )
    return notes


# ---------------------------------------------------------------------------------------------------- views
# The summary (summary.csv) holds every statistic of every metric and every per-cell column; a table for reading
# shows a choice of them (`--metrics`, `--columns`), rows sorted best first within each dataset and level.

# What `--columns` names for each metric, and the summary columns behind it ("BLEU ci_low", ...).
METRIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "score": (),
    "ci": ("ci_low", "ci_high"),
    "rank": ("rank_low", "rank_high"),
    "cluster": ("rank",),
    "p_value": ("p_value",),
    "delta": ("delta",),
    "delta_ci": ("delta_ci_low", "delta_ci_high"),
    "agreement": ("human_agreement",),  # the delta in human terms (statistics.humanterms)
    "significant": ("significant", "significantly_worse"),
}
# The default: each metric's score, CI, WMT rank range and p-value against the baseline, where the run has them.
DEFAULT_COLUMNS = ("ci", "rank", "p_value")
# off_target_rate is shown by default from this rate on: WMT22's submissions measure 0.0-0.5% (language-ID noise
# on short or name-only segments), a system that answers in the wrong language far more.
OFF_TARGET_SHOWN = 0.01


def format_p(value) -> str:
    """A p-value for reading: three decimals, and `<0.001` below (the smallest p-value of a paired test with
    R resamples is 1/(R+1), which two decimals would print as 0.00)."""
    if missing(value):
        return ""
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def _shown_signatures(notes: list[str], directions: dict[str, bool], shown: list[str]) -> list[str]:
    """The notes without the signatures of metrics the view leaves out (`--metrics BLEU,TER`)."""
    hidden = [m for m in directions if m not in shown]
    return [n for n in notes if not any(n.startswith(f"{m} (") for m in hidden)]


def _pick_metrics(directions: dict[str, bool], frame: pd.DataFrame, metrics: list[str] | None) -> list[str]:
    available = [m for m in directions if m in frame.columns]
    if not metrics:
        return available
    lower = {m.lower(): m for m in available}
    picked = []
    for name in metrics:
        label = name if name in available else lower.get(name.lower())
        if label is None:
            raise UserError(f"--metrics: no metric {name!r} in this table (it has {', '.join(available)})")
        picked.append(label)
    return list(dict.fromkeys(picked))


def _informative(frame: pd.DataFrame, column: str) -> bool:
    """A per-cell column worth a reader's width: some cell differs from the uneventful value."""
    values = frame[column]
    if column == "valid":
        return any(str(v) == "False" for v in values)
    if column == "pivot_on_target_rate":
        return bool(values.notna().any())
    if column == "off_target_rate":  # below 1% it is language identification's noise on real data
        return bool((pd.to_numeric(values, errors="coerce").fillna(0) >= OFF_TARGET_SHOWN).any())
    return bool((pd.to_numeric(values, errors="coerce").fillna(0) != 0).any())


def _pick_columns(frame: pd.DataFrame, metrics: list[str], columns: list[str] | None) -> tuple[list[str], list[str]]:
    """(per-metric statistics, per-cell columns) to show."""
    present = lambda stat: any(  # noqa: E731
        f"{m} {part}" in frame.columns and frame[f"{m} {part}"].notna().any()
        for m in metrics
        for part in METRIC_COLUMNS[stat]
    )
    if columns is None:
        return [s for s in DEFAULT_COLUMNS if present(s)], [
            c for c in CELL_COLUMNS if c in frame and _informative(frame, c)
        ]
    if columns == ["all"]:  # the full table: every statistic computed, every per-cell column
        return [s for s in METRIC_COLUMNS if s != "score" and present(s)], [c for c in CELL_COLUMNS if c in frame]
    stats, cells = [], []
    for name in columns:
        if name in METRIC_COLUMNS:
            if name != "score" and not present(name):
                raise UserError(f"--columns: {name} is not in this table (not computed by this run's statistics)")
            stats.append(name)
        elif name in CELL_COLUMNS:
            if name not in frame.columns:
                raise UserError(f"--columns: {name} is not in this table")
            cells.append(name)
        else:
            choices = ", ".join([*METRIC_COLUMNS, *CELL_COLUMNS, "all"])
            raise UserError(f"--columns: unknown column {name!r} (choose from {choices})")
    return [s for s in dict.fromkeys(stats) if s != "score"], list(dict.fromkeys(cells))


def sort_rows(frame: pd.DataFrame, directions: dict[str, bool], by: str) -> pd.DataFrame:
    """Rows grouped by dataset and level (in their first-seen order), within each group best first by metric
    `by` (respecting its direction), by system name with `system`, or as they were with `none`. Invalid cells
    (round trips off the pivot language) go last, after them the std, min and max rows over seeds (`aggregate`);
    ties keep their order."""
    if by == "none":
        return frame
    groups = [k for k in ("dataset", "level") if k in frame.columns]
    parts = []
    for _, group in frame.groupby(groups, sort=False, dropna=False) if groups else [(None, frame)]:
        invalid = group["valid"].astype(str) == "False" if "valid" in group.columns else False
        group = group.assign(_invalid=_spread_rows(group) * 2 + invalid)
        if by == "system":
            group = group.sort_values(["_invalid", "system"], kind="stable")
        else:
            group = group.sort_values(
                ["_invalid", by], ascending=[True, not directions[by]], na_position="last", kind="stable"
            )
        parts.append(group.drop(columns="_invalid"))
    return pd.concat(parts) if parts else frame


def reading_order(summary: pd.DataFrame, directions: dict[str, bool]) -> pd.DataFrame:
    """A summary's rows in the order tables show them (`select`'s default: best first by the first metric
    within each dataset and level), renumbered: the order summary.csv is written in."""
    first = next((m for m in directions if m in summary.columns), None)
    return sort_rows(summary, directions, first).reset_index(drop=True) if first else summary


def select(
    frame: pd.DataFrame,
    directions: dict[str, bool],
    metrics: list[str] | None = None,
    columns: list[str] | None = None,
    sort: str | None = None,
) -> pd.DataFrame:
    """A summary's rows and columns for reading: the key columns that say something (no `level` when there is one
    level, no setting that is empty everywhere), each chosen metric with its chosen statistics (default: CI, rank
    range and p-value, where computed), the per-cell columns that carry information (default: those with some
    non-zero value), sorted by `sort` (default: the first chosen metric). The index is the summary's."""
    picked = _pick_metrics(directions, frame, metrics)
    stats, cells = _pick_columns(frame, picked, columns)
    by = sort if sort is not None else (picked[0] if picked else "none")
    if by not in SORT_KEYS and by not in directions:
        lower = {m.lower(): m for m in directions if m in frame.columns}
        if by.lower() not in lower:
            raise UserError(f"--sort: expected a metric ({', '.join(lower.values())}), system or none; got {by!r}")
        by = lower[by.lower()]
    keys = [
        k
        for k in key_columns(frame)
        if k in ("dataset", "system")
        or (k == "level" and frame[k].nunique(dropna=False) > 1)
        or (k != "level" and frame[k].notna().any())
    ]
    shown = keys + [
        c for m in picked for c in (m, *(f"{m} {p}" for s in stats for p in METRIC_COLUMNS[s])) if c in frame.columns
    ]
    return sort_rows(frame, directions, by)[shown + cells]


# Headers of a metric's statistics in a table for reading, after the metric's own column (BLEU | ± | rank | p).
_HEADERS = {
    "ci_low": "±",
    "rank_low": "rank",
    "rank": "cluster",
    "p_value": "p",
    "delta": "Δ",
    "delta_ci_low": "Δ 95% CI",
    "human_agreement": "humans agree",
    "significant": "vs base",
}
_PAIRED = {"ci_high", "rank_high", "delta_ci_high", "significantly_worse"}  # shown with their first half
_CELL_HEADERS = {
    "off_target_rate": "off-target",
    "empty_outputs": "empty",
    "unaligned_sources": "unaligned src",
    "unaligned_references": "unaligned ref",
    "pivot_on_target_rate": "pivot on target",
}


def _percent(value) -> str:
    return "" if missing(value) else f"{100 * float(value):.1f}%"


def _statistic(full: pd.DataFrame, metric: str, stat: str, i, decimals: int = 2) -> str:
    """One statistic of a metric as text (`decimals` of the score's scale: ±, deltas)."""
    at = lambda name: cast(Any, full.at[i, name])  # noqa: E731  (a cell: a float, int, bool or None here)
    value = at(f"{metric} {stat}")
    if missing(value) and stat != "significant":
        return ""
    if stat == "ci_low":  # sacrebleu's ±: half the width of the percentile interval
        return f"{(float(at(f'{metric} ci_high')) - float(value)) / 2:.{decimals}f}"
    if stat == "delta_ci_low":
        return f"[{float(value):+.{decimals}f}, {float(at(f'{metric} delta_ci_high')):+.{decimals}f}]"
    if stat == "rank_low":
        high = int(at(f"{metric} rank_high"))
        return str(int(value)) + ("" if int(value) == high else f"–{high}")
    if stat == "p_value":
        return format_p(value)
    if stat == "delta":
        return f"{float(value):+.{decimals}f}"
    if stat == "human_agreement":  # mt_thresholds gives percent
        return f"{float(value):.0f}%"
    if stat == "significant":
        worse = full.get(f"{metric} significantly_worse")
        return "better" if _is_true(value) else ("worse" if worse is not None and _is_true(worse[i]) else "")
    return _cell(value, decimals)


@dataclass
class _Column:
    """A column of a table for reading: its group (`key`, a metric's label, or `cell` for the per-cell columns),
    its summary column, its header and its text, row by row of the view."""

    group: str
    name: str
    header: str
    values: list[str]


def _flag(name: str, value) -> str:
    """A per-cell column's value in the compact view: empty where it says nothing (no empty outputs, language
    identification's noise below 1% off target, a valid round trip)."""
    if missing(value):
        return ""
    if name == "valid":
        return "" if str(value) != "False" else "no"
    if name == "off_target_rate":
        return _percent(value) if float(value) >= OFF_TARGET_SHOWN else ""
    if name == "pivot_on_target_rate":
        return _percent(value)
    return "" if float(value) == 0 else md_text(_cell(value))


def _compact_cell(full: pd.DataFrame, marks: pd.DataFrame, metric: str, stats: set[str], i, decimals: int) -> str:
    """A metric's score as one cell: `33.51±1.19 (3–5)†`: score (bold best), ± half the CI, the rank range, or
    the p-value against the baseline where there is no rank range (`p<0.001`), and the mark."""
    text = str(marks.at[i, metric])
    if not text:
        return ""
    core = text.rstrip("†‡")
    out = core
    if "ci_low" in stats and not missing(full.at[i, f"{metric} ci_low"]):
        out += "±" + _statistic(full, metric, "ci_low", i, decimals)
    if "rank_low" in stats and not missing(full.at[i, f"{metric} rank_low"]):
        out += f" ({_statistic(full, metric, 'rank_low', i)})"
    elif "p_value" in stats and not missing(full.at[i, f"{metric} p_value"]):
        p = format_p(full.at[i, f"{metric} p_value"])
        out += " p" + (p if p.startswith("<") else f"={p}")
    return out + text[len(core) :]


def _columns(
    full: pd.DataFrame, view: pd.DataFrame, directions: dict[str, bool], decimals: int = 2, compact: bool = False
) -> list[_Column]:
    """The view's columns as text: the key columns, then per metric its marked score followed by its statistics
    (or, `compact`, one cell per metric: `_compact_cell`), then the per-cell columns (`compact`: only their
    eventful values, `_flag`)."""
    marks = marked(full, directions, "md", decimals)
    settings = set(key_columns(full)) - {"run", "dataset", "system", "level"}
    rows = list(view.index)
    out: list[_Column] = []
    for column in view.columns:
        name = str(column)
        metric, _, stat = name.rpartition(" ")
        if name in directions:
            if compact:
                stats = {str(c).rpartition(" ")[2] for c in view.columns if str(c).startswith(f"{name} ")}
                values = [_compact_cell(full, marks, name, stats, i, decimals) for i in rows]
            else:
                values = [str(marks.at[i, name]) for i in rows]
            out.append(_Column(name, name, md_text(name), values))
        elif metric in directions and (stat in _PAIRED or compact):
            continue
        elif metric in directions:
            values = [_statistic(full, metric, stat, i, decimals) for i in rows]
            out.append(_Column(metric, name, md_text(_HEADERS.get(stat, stat)), values))
        elif name in settings:
            out.append(_Column("key", name, md_text(name), [md_text(_setting(full.at[i, name])) for i in rows]))
        elif name in CELL_COLUMNS:
            percent = name in ("off_target_rate", "pivot_on_target_rate")
            if compact:
                values = [_flag(name, full.at[i, name]) for i in rows]
            else:
                values = [
                    _percent(full.at[i, name]) if percent else md_text(_cell(full.at[i, name], decimals)) for i in rows
                ]
            out.append(_Column("cell", name, md_text(_CELL_HEADERS.get(name, name)), values))
        else:
            out.append(_Column("key", name, md_text(name), [md_text(_cell(full.at[i, name])) for i in rows]))
    return out


def _frame(columns: list[_Column], rows: list[int]) -> pd.DataFrame:
    """Text columns (at row positions `rows`) as a frame whose headers may repeat (±, rank, p per metric)."""
    out = pd.DataFrame({k: [c.values[r] for r in rows] for k, c in enumerate(columns)})
    out.columns = [c.header for c in columns]
    return out


def readable(full: pd.DataFrame, view: pd.DataFrame, directions: dict[str, bool], decimals: int = 2) -> pd.DataFrame:
    """The view as Markdown text: marked scores (bold best, † better / ‡ worse than the baseline), each followed
    by its statistics under short headers: ± (half the CI's width, as sacrebleu prints it), rank ranges as `2–4`,
    p-values as `<0.001`, deltas signed; rates in percent; names and headers as `md_text`."""
    out = _frame(_columns(full, view, directions, decimals), list(range(len(view))))
    out.index = view.index
    return out


def _markdown(columns: list[_Column], rows: list[int]) -> str:
    return _frame(columns, rows).to_markdown(index=False, disable_numparse=True)


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _blocks(columns: list[_Column], datasets: list[str], width: int) -> list[tuple[str, list[int], list[_Column]]]:
    """(title, row positions, columns) of the tables that show `columns` within `width`: one table when it fits;
    else one per dataset (its name the title, no dataset column); else, within each dataset, the metrics in
    groups that fit beside the key columns (the per-cell columns with the last group). A group of one metric
    wider than `width` stays whole: a table is never cut."""
    everything = list(range(len(datasets)))
    if _widest(_markdown(columns, everything)) <= width:
        return [("", everything, columns)]
    by_dataset: dict[str, list[int]] = {}
    for position, dataset in enumerate(datasets):
        by_dataset.setdefault(dataset, []).append(position)
    rest = [c for c in columns if c.name != "dataset"]
    if all(_widest(_markdown(_saying(rest, rows), rows)) <= width for rows in by_dataset.values()):
        return [(md_text(name), rows, _saying(rest, rows)) for name, rows in by_dataset.items()]
    keys = [c for c in rest if c.group == "key"]
    units: list[list[_Column]] = []
    for column in rest:
        if column.group == "key":
            continue
        if units and (units[-1][0].group == column.group or column.group == "cell" and units[-1][0].group == "cell"):
            units[-1].append(column)
        else:
            units.append([column])
    groups: list[list[_Column]] = []  # decided on all rows, so every dataset splits alike
    for unit in units:
        if groups and _widest(_markdown(keys + groups[-1] + unit, everything)) <= width:
            groups[-1] += unit
        else:
            groups.append(list(unit))
    blocks = []
    for name, rows in by_dataset.items():
        for group in groups:
            said = _saying(group, rows)
            if not said:
                continue
            shown = list(dict.fromkeys(md_text(c.group) if c.group != "cell" else c.header for c in said))
            title = md_text(name) + (f": {', '.join(shown)}" if len(groups) > 1 else "")
            blocks.append((title, rows, keys + said))
    return blocks


def _saying(columns: list[_Column], rows: list[int]) -> list[_Column]:
    """The columns without the per-cell columns that are blank in these rows (a dataset's own block shows the
    pivot rate of a round trip, not the empty one of a documents dataset beside it)."""
    return [c for c in columns if c.group != "cell" or any(c.values[r] for r in rows)]


def _wrap(note: str, width: int) -> str:
    """A note as a Markdown list item within `width` (a long signature, which has no space, stays whole)."""
    return textwrap.fill(f"- {note}", width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)


def terminal_md(
    full: pd.DataFrame,
    view: pd.DataFrame,
    directions: dict[str, bool],
    notes: list[str],
    width: int,
    decimals: int = 2,
    compact: bool = True,
    full_table: str | None = None,
) -> str:
    """The view as Markdown for a terminal `width` columns wide: with `compact` (the default view) one cell per
    metric (`_compact_cell`) and only the eventful values of the per-cell columns; in as few tables as fit
    (`_blocks`), the notes wrapped to the width, and where the full table is."""
    columns = _columns(full, view, directions, decimals, compact)
    datasets = [str(d) for d in view["dataset"]]
    parts = []
    for title, rows, shown in _blocks(columns, datasets, width):
        parts.append((f"### {title}\n\n" if title else "") + _markdown(shown, rows))
    said = _with_view_notes(notes, full, view, compact)
    if full_table is not None:
        said.append(f"full table: {full_table}")
    return "\n\n".join(parts) + "\n\n" + "\n".join(_wrap(note, width) for note in said) + "\n"


def view_notes(full: pd.DataFrame, view: pd.DataFrame, compact: bool = False) -> list[str]:
    """What the marks and statistics columns of a view mean (`compact`: of its cells, `_compact_cell`)."""
    notes = []
    names = [str(c) for c in view.columns]
    baseline = full["baseline"].dropna() if "baseline" in full.columns else pd.Series(dtype=object)
    baseline = baseline.astype(str).map(md_text)
    marks = "bold: best per dataset and level"
    if len(baseline):
        marks += f"; †: significantly better than {baseline.iloc[0]}; ‡: significantly worse"
    notes.append(marks)
    has_rank = any(n.endswith(" rank_low") for n in names)
    if any(n.endswith(" ci_low") for n in names):
        where = "" if compact else "; bounds in summary.csv"  # compact: the full table is named under it
        notes.append(f"±: half the width of the 95% bootstrap interval (sacrebleu's ±{where})")
    if has_rank:
        rank = "(2–4)" if compact else "rank"
        notes.append(
            f"{rank}: WMT rank range, 1 + systems significantly better – systems not significantly worse; "
            "overlapping ranges may be tied"
        )
    if any(n.endswith(" p_value") for n in names) and len(baseline) and not (compact and has_rank):
        notes.append(f"p: paired test against {baseline.iloc[0]}")
    if any(n.endswith(" human_agreement") for n in names):
        notes.append(AGREEMENT_NOTE)
    return notes


# What the `humans agree` column says (statistics.humanterms).
AGREEMENT_NOTE = (
    "humans agree: the estimated share of system pairs with this Δ on which humans agree with the metric "
    "(Kocmi et al. 2024, mt-thresholds); empty where the metric has no published curve"
)

"""Rendering score tables as CSV, Markdown, LaTeX (booktabs) or JSON.

CSV and JSON keep full precision; Markdown and LaTeX round to two decimals for reading and list the
sacrebleu signatures under the table, since a score without its signature cannot be compared.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import pandas as pd

from evalharness.compare import is_baseline
from evalharness.errors import UserError
from evalharness.results import AGGREGATES, CELL_COLUMNS, missing, to_csv

FORMATS = ("csv", "md", "latex", "json")


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


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _is_true(value) -> bool:
    """True, numpy's True or the CSV's 'True'; never an empty cell."""
    return not missing(value) and (value is True or str(value) == "True")


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def marked(frame: pd.DataFrame, directions: dict[str, bool], fmt: str) -> pd.DataFrame:
    """A summary as text: two decimals, the best score of each dataset and level in bold (respecting the metric's
    direction), a dagger on scores significantly better than the baseline, a double dagger on scores
    significantly worse."""
    bold = (lambda t: f"**{t}**") if fmt == "md" else (lambda t: f"\\textbf{{{t}}}")
    dagger = "†" if fmt == "md" else "$^\\dagger$"
    ddagger = "‡" if fmt == "md" else "$^\\ddagger$"
    esc = (lambda t: t) if fmt == "md" else latex_escape
    out = frame.astype(object).copy()
    for column in frame.columns:
        if column not in directions:
            out[column] = [esc(_cell(v)) for v in frame[column]]
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
            text = f"{value:.2f}"
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
) -> str:
    """`directions` (metric -> higher is better) makes a summary a table for reading: in md the `select`ed view
    (marked, p-values as `<0.001`), in LaTeX the paper table (`paper_latex`); csv and json stay the whole summary
    unless `metrics`, `columns` or `sort` choose a view. Without `directions` (the tidy table) every format is
    the frame as it is."""
    notes = notes or []
    if directions and fmt in ("md", "latex"):
        view = select(frame, directions, metrics, columns, sort)
        if fmt == "latex":
            from evalharness.latex import paper_latex  # here: latex builds on this module's views

            return paper_latex(frame, view, directions, notes, columns, sort=sort)
        text = readable(frame, view, directions).to_markdown(index=False, disable_numparse=True)
        # A leaderboard says itself what bold means (best across runs).
        bold_said = any(note.startswith("bold:") for note in notes)
        notes = notes + [n for n in view_notes(frame, view) if not (bold_said and n.startswith("bold:"))]
        return text + "\n" + "".join(f"\n- {note}" for note in notes) + "\n"
    if directions and (metrics or columns or sort):
        frame = select(frame, directions, metrics, columns, sort)
    if fmt == "csv":
        return to_csv(frame)
    if fmt == "json":
        # json.dumps, not DataFrame.to_json: the latter rounds floats to 15 digits.
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return json.dumps(records, indent=2, ensure_ascii=False, default=lambda o: o.item()) + "\n"
    if fmt == "md":
        table = md_escape(frame.astype(object).where(frame.notna(), "")).to_markdown(index=False, floatfmt=".2f")
        return table + "\n" + "".join(f"\n- {note}" for note in notes) + ("\n" if notes else "")
    if fmt == "latex":
        # Styler escapes the cells; the headers (off_target_rate, ...) need it too.
        frame = frame.rename(columns=lambda c: str(c).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&"))
        styler = frame.style.format(precision=2, na_rep="", escape="latex").hide(axis="index")
        table = styler.to_latex(hrules=True, column_format="l" * len(frame.columns))
        if notes:
            escaped = [note.replace("_", r"\_").replace("|", r"$|$").replace("%", r"\%") for note in notes]
            table += "\\par\\smallskip\\footnotesize\n" + "".join(f"{note}\\\\\n" for note in escaped)
        return table
    raise ValueError(f"unknown format {fmt!r}")


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
    "significant": ("significant", "significantly_worse"),
}
# The default: each metric's score, CI, WMT rank range and p-value against the baseline, where the run has them.
DEFAULT_COLUMNS = ("ci", "rank", "p_value")
SORT_KEYS = ("system", "none")  # besides a metric label
# off_target_rate is shown by default from this rate on: WMT22's submissions measure 0.0-0.5% (language-ID noise
# on short or name-only segments), a system that answers in the wrong language far more.
OFF_TARGET_SHOWN = 0.01


def format_p(value) -> str:
    """A p-value for reading: three decimals, and `<0.001` below (the smallest p-value of a paired test with
    R resamples is 1/(R+1), which two decimals would print as 0.00)."""
    if missing(value):
        return ""
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def _setting_columns(frame: pd.DataFrame) -> list[str]:
    return [k for k in key_columns(frame) if k not in ("run", "dataset", "system", "level")]


def _spread_rows(frame: pd.DataFrame) -> pd.Series:
    """The rows `aggregate` adds that are not a score of a system (std, min, max over seeds)."""
    spread = [a for a in AGGREGATES if a != "mean"]
    flags = pd.Series(False, index=frame.index)
    for column in _setting_columns(frame):
        flags |= frame[column].astype(str).isin(spread)
    return flags


def _baseline_rows(frame: pd.DataFrame, baseline: str) -> pd.Series:
    """The rows of the `statistics.baseline` cell (a system, or one sweep point of it: `system@label`)."""
    settings = _setting_columns(frame)
    return pd.Series(
        [
            is_baseline(baseline, str(row["system"]), {k: row[k] for k in settings if not missing(row[k])})
            for row in frame.to_dict("records")
        ],
        index=frame.index,
    )


def key_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that name a row (run, dataset, system, swept settings, level): all up to `level`."""
    columns = [str(c) for c in frame.columns]
    return columns[: columns.index("level") + 1] if "level" in columns else columns[: columns.index("system") + 1]


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
            choices = ", ".join([*METRIC_COLUMNS, *CELL_COLUMNS])
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


def _statistic(full: pd.DataFrame, metric: str, stat: str, i) -> str:
    """One statistic of a metric as text."""
    at = lambda name: cast(Any, full.at[i, name])  # noqa: E731  (a cell: a float, int, bool or None here)
    value = at(f"{metric} {stat}")
    if missing(value) and stat != "significant":
        return ""
    if stat == "ci_low":  # sacrebleu's ±: half the width of the percentile interval
        return f"{(float(at(f'{metric} ci_high')) - float(value)) / 2:.2f}"
    if stat == "delta_ci_low":
        return f"[{float(value):+.2f}, {float(at(f'{metric} delta_ci_high')):+.2f}]"
    if stat == "rank_low":
        high = int(at(f"{metric} rank_high"))
        return str(int(value)) + ("" if int(value) == high else f"–{high}")
    if stat == "p_value":
        return format_p(value)
    if stat == "delta":
        return f"{float(value):+.2f}"
    if stat == "significant":
        worse = full.get(f"{metric} significantly_worse")
        return "better" if _is_true(value) else ("worse" if worse is not None and _is_true(worse[i]) else "")
    return _cell(value)


MAX_SETTING = 32  # characters of a swept setting's value in a table for reading


def _setting(value) -> str:
    """A swept setting as a reader wants it: as declared (a beam of 4 not '4.00', a temperature of 1.0 not '1'),
    a long value (a path) cut from the left; summary.csv has it whole."""
    if missing(value):
        return ""
    text = str(value)
    return text if len(text) <= MAX_SETTING else "…" + text[-(MAX_SETTING - 1) :]


def readable(full: pd.DataFrame, view: pd.DataFrame, directions: dict[str, bool]) -> pd.DataFrame:
    """The view as Markdown text: marked scores (bold best, † better / ‡ worse than the baseline), each followed
    by its statistics under short headers: ± (half the CI's width, as sacrebleu prints it), rank ranges as `2–4`,
    p-values as `<0.001`, deltas signed; rates in percent; names and headers as `md_text`."""
    marks = marked(full, directions, "md")
    settings = set(key_columns(full)) - {"run", "dataset", "system", "level"}
    headers: list[str] = []
    values: list[list[str]] = []
    rows = list(view.index)
    for column in view.columns:
        name = str(column)
        metric, _, stat = name.rpartition(" ")
        if name in directions:
            headers.append(name)
            values.append([str(marks.at[i, name]) for i in rows])
        elif metric in directions and stat in _PAIRED:
            continue
        elif metric in directions:
            headers.append(_HEADERS.get(stat, stat))
            values.append([_statistic(full, metric, stat, i) for i in rows])
        elif name in settings:
            headers.append(name)
            values.append([md_text(_setting(full.at[i, name])) for i in rows])
        else:
            headers.append(_CELL_HEADERS.get(name, name))
            percent = name in ("off_target_rate", "pivot_on_target_rate")
            values.append([_percent(full.at[i, name]) if percent else md_text(_cell(full.at[i, name])) for i in rows])
    out = pd.DataFrame(dict(enumerate(values)), index=rows)
    out.columns = [md_text(header) for header in headers]
    return out


def view_notes(full: pd.DataFrame, view: pd.DataFrame) -> list[str]:
    """What the marks and statistics columns of a view mean."""
    notes = []
    names = [str(c) for c in view.columns]
    baseline = full["baseline"].dropna() if "baseline" in full.columns else pd.Series(dtype=object)
    baseline = baseline.astype(str).map(md_text)
    marks = "bold: best per dataset and level"
    if len(baseline):
        marks += f"; †: significantly better than {baseline.iloc[0]}; ‡: significantly worse"
    notes.append(marks)
    if any(n.endswith(" ci_low") for n in names):
        notes.append("±: half the width of the 95% bootstrap interval (sacrebleu's ±; bounds in summary.csv)")
    if any(n.endswith(" rank_low") for n in names):
        notes.append(
            "rank: WMT rank range, 1 + systems significantly better – systems not significantly worse; "
            "overlapping ranges may be tied"
        )
    if any(n.endswith(" p_value") for n in names) and len(baseline):
        notes.append(f"p: paired test against {baseline.iloc[0]}")
    return notes

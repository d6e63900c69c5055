"""The paper table (`summary.tex`, `table --format latex`): a LaTeX document that compiles as is, whose `table`
environment a researcher copies into a paper.

One block of rows per dataset (and level), each with its own systems, never rows joined across datasets by
system name: systems of one language pair only would leave the other pair's columns empty, and a row across
datasets invites comparing scores that cannot be compared. A column per metric; within a block the rows are the
view's (best first by the first metric, `tables.select`), the best score of each column in bold (at the printed
precision, so that equal-looking scores are bold together), † / ‡ significantly better / worse than the baseline;
the caption says what the marks mean and carries the sacrebleu signatures.
"""

from __future__ import annotations

import pandas as pd

from evalharness.errors import UserError
from evalharness.reporting.rows import (
    SORT_KEYS,
    _baseline_rows,
    _is_true,
    _setting,
    _spread_rows,
    key_columns,
    latex_escape,
)
from evalharness.results import missing

# About the characters a \small tabular holds in an article's text width: a wider table is scaled down to it.
TEXT_WIDTH_CHARS = 60


def _tt(signature: str) -> str:
    """A signature in typewriter type that may break after each `|` (they are long)."""
    return "\\texttt{" + latex_escape(signature).replace("|", "|\\allowbreak{}") + "}"


def _row_label(frame: pd.DataFrame, i, keys: list[str]) -> str:
    parts = [str(frame.at[i, "system"])]
    parts += [f"{k}={_setting(frame.at[i, k])}" for k in keys if not missing(frame.at[i, k])]
    label = latex_escape(parts[0]) + (f" ({latex_escape(', '.join(parts[1:]))})" if len(parts) > 1 else "")
    return f"{latex_escape(str(frame.at[i, 'run']))}: {label}" if "run" in frame.columns else label


def _marks(full: pd.DataFrame, directions: dict[str, bool], metrics: list[str], decimals: int) -> pd.DataFrame:
    """Every score of `metrics` as LaTeX: `decimals` decimals, bold where it equals the best of its dataset and
    level as printed (respecting the metric's direction; an invalid round trip or a std/min/max row over seeds is
    never best), $^\\dagger$ significantly better than the baseline, $^\\ddagger$ significantly worse."""
    groups = [k for k in ("dataset", "level") if k in full.columns]
    baseline = full["baseline"].dropna().astype(str) if "baseline" in full.columns else pd.Series(dtype=object)
    base_rows = _baseline_rows(full, baseline.iloc[0]) if len(baseline) else pd.Series(False, index=full.index)
    out = pd.DataFrame(index=full.index, columns=metrics, dtype=object)
    for metric in metrics:
        higher = directions[metric]
        values = pd.to_numeric(full[metric], errors="coerce")
        printed = values.round(decimals)
        eligible = printed.where(~_spread_rows(full))
        if "valid" in full.columns:
            eligible = eligible.where(full["valid"].astype(str) != "False")
        best = eligible.groupby([full[k] for k in groups]).transform("max" if higher else "min")
        base = values.where(base_rows).groupby([full[k] for k in groups]).transform("first")
        significant, worse = full.get(f"{metric} significant"), full.get(f"{metric} significantly_worse")
        for i in full.index:
            if pd.isna(values[i]):
                out.at[i, metric] = ""
                continue
            text = f"{values[i]:.{decimals}f}"
            if not pd.isna(eligible[i]) and eligible[i] == best[i]:
                text = f"\\textbf{{{text}}}"
            # Runs before `significantly_worse` existed marked losses `significant` too: a dagger needs a win.
            if significant is not None and _is_true(significant[i]) and not pd.isna(base[i]):
                if values[i] > base[i] if higher else values[i] < base[i]:
                    text += "$^\\dagger$"
            if worse is not None and _is_true(worse[i]):
                text += "$^\\ddagger$"
            out.at[i, metric] = text
    return out


def paper_latex(
    full: pd.DataFrame,
    view: pd.DataFrame,
    directions: dict[str, bool],
    signatures: list[str],
    columns: list[str] | None = None,
    caption: str = "",
    decimals: int = 2,
    sort: str | None = None,
) -> str:
    """The paper table of a summary (`full`) in the rows and order of its `view` (`tables.select`): a block per
    dataset and level, a column per metric, scores with `decimals` decimals, bold best per column within a
    block, † / ‡, and ± half the bootstrap CI's width (sacrebleu's ±) where there is no baseline or `columns`
    names `ci`. `sort` is the view's order as `select` took it (default: the first metric), for the caption."""
    if decimals < 0:
        raise UserError(f"decimals: expected 0 or more, got {decimals}")
    metrics = [m for m in directions if m in view.columns and pd.to_numeric(view[m], errors="coerce").notna().any()]
    marks = _marks(full, directions, metrics, decimals)
    has_baseline = "baseline" in full.columns and full["baseline"].notna().any()
    with_ci = any(f"{m} ci_low" in view.columns for m in metrics) and (
        "ci" in (columns or []) if columns is not None or has_baseline else True
    )
    settings = [k for k in key_columns(full) if k in view.columns and k not in ("run", "dataset", "system", "level")]
    group_keys = [k for k in ("dataset", "level") if k in view.columns]
    blocks = (
        [(key, group.index) for key, group in view.groupby(group_keys, sort=False, dropna=False)]
        if group_keys
        else [((), view.index)]
    )
    titles = [", ".join(str(v) for v in (key if isinstance(key, tuple) else (key,))) for key, _ in blocks]

    def cell(i, metric: str) -> str:
        text = str(marks.at[i, metric])
        low, high = full.get(f"{metric} ci_low"), full.get(f"{metric} ci_high")
        if with_ci and text and low is not None and high is not None and not missing(low[i]):
            text += f"\\,{{\\scriptsize$\\pm${(float(high[i]) - float(low[i])) / 2:.{decimals}f}}}"
        return text

    body: list[list[str]] = []  # per block, its lines
    for title, (_, index) in zip(titles, blocks, strict=True):
        lines = [f"\\multicolumn{{{1 + len(metrics)}}}{{l}}{{\\textit{{{latex_escape(title)}}}}} \\\\"]
        lines = lines if len(blocks) > 1 else []
        for i in index:
            lines.append(" & ".join([_row_label(view, i, settings), *(cell(i, m) for m in metrics)]) + " \\\\")
        body.append(lines)
    label_chars = max((len(str(s)) for s in view["system"]), default=0) if "system" in view.columns else 0
    wide = label_chars + len(metrics) * (16 if with_ci else 10) > TEXT_WIDTH_CHARS
    arrow = lambda m: f"{latex_escape(m)}$\\{'uparrow' if directions[m] else 'downarrow'}$"  # noqa: E731
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        "\\setlength{\\tabcolsep}{4pt}",
        # only when it does not fit: scaled down to the text width, never up
        *(["\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%"] if wide else []),
        "\\begin{tabular}{l" + "r" * len(metrics) + "}",
        "\\toprule",
        " & ".join(["System", *(arrow(m) for m in metrics)]) + " \\\\",
    ]
    for block in body:
        lines += ["\\midrule", *block]
    lines += ["\\bottomrule", "\\end{tabular}" + ("}" if wide else "")]
    lines += [f"\\caption{{{_caption(full, titles, group_keys, metrics, with_ci, signatures, caption, sort)}}}"]
    lines += ["\\label{tab:scores}", "\\end{table}"]
    return (
        "% A paper table by evalharness: compiles as is; to use it in a paper, copy the table environment\n"
        "% (it needs \\usepackage{booktabs}, and \\usepackage{graphicx} for \\resizebox when it has one).\n"
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\IfFileExists{lmodern.sty}{\\usepackage{lmodern}}{}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs}\n"
        "\\usepackage{graphicx}\n"
        "\\begin{document}\n" + "\n".join(lines) + "\n\\end{document}\n"
    )


def _caption(
    full: pd.DataFrame,
    titles: list[str],
    group_keys: list[str],
    metrics: list[str],
    with_ci: bool,
    signatures: list[str],
    caption: str,
    sort: str | None,
) -> str:
    """What the table shows, its order, what its marks mean, and the signatures of its metrics."""
    text = caption or (f"Scores on {latex_escape(', '.join(titles))}." if group_keys else "Scores.")
    by = sort if sort is not None else (metrics[0] if metrics else "none")
    by = next((m for m in metrics if m.lower() == by.lower()), by)  # `--sort bleu` sorted by BLEU
    within = " within each block" if len(titles) > 1 else ""
    if by not in SORT_KEYS:
        text += f" Systems best first by {latex_escape(by)}{within}."
    text += f" Bold: best per column{within}."
    baseline = full["baseline"].dropna() if "baseline" in full.columns else pd.Series(dtype=object)
    if len(baseline):
        text += f" $^\\dagger$/$^\\ddagger$: significantly better/worse than {latex_escape(str(baseline.iloc[0]))}."
    if with_ci:
        text += " $\\pm$: half the width of the 95\\% bootstrap interval."
    if signatures:
        named = [note.partition(": ") for note in signatures]  # "BLEU (higher is better): nrefs:1|..."
        text += " Signatures: " + "; ".join(f"{latex_escape(m.split(' (')[0])} {_tt(sig)}" for m, _, sig in named) + "."
    return text

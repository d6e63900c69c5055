"""Rendering score tables as CSV, Markdown, LaTeX (booktabs) or JSON.

CSV and JSON keep full precision; Markdown and LaTeX round to two decimals for reading and list the
sacrebleu signatures under the table, since a score without its signature cannot be compared.
"""

from __future__ import annotations

import json

import pandas as pd

from evalharness.results import to_csv

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


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def marked(frame: pd.DataFrame, directions: dict[str, bool], fmt: str) -> pd.DataFrame:
    """A summary as text: two decimals, the best score of each dataset and level in bold (respecting the metric's
    direction), a dagger on scores significantly better than the baseline."""
    bold = (lambda t: f"**{t}**") if fmt == "md" else (lambda t: f"\\textbf{{{t}}}")
    dagger = "†" if fmt == "md" else "$^\\dagger$"
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
        # An invalid cell (a round trip through a pivot that is not the pivot language) is never "best".
        eligible = values.where(frame["valid"].astype(str) != "False") if "valid" in frame.columns else values
        best = (
            eligible.groupby(groups).transform("max" if higher else "min")
            if groups
            else eligible.agg("max" if higher else "min")
        )
        significant = frame.get(f"{metric} significant")
        baseline = frame["baseline"] if "baseline" in frame.columns else None
        texts = []
        for idx in frame.index:
            value = values[idx]
            if pd.isna(value):
                texts.append("")
                continue
            text = f"{value:.2f}"
            if value == (best[idx] if groups else best) and not pd.isna(eligible[idx]):
                text = bold(text)
            if significant is not None and significant[idx] is True and baseline is not None:
                same = (
                    (frame["system"] == baseline[idx])
                    & (frame["dataset"] == frame["dataset"][idx])
                    & (frame["level"] == frame["level"][idx] if "level" in frame.columns else True)
                )
                base_value = values[same].iloc[0] if same.any() else None
                if base_value is not None and (value > base_value if higher else value < base_value):
                    text += dagger
            texts.append(text)
        out[metric] = texts
    return out


def md_escape(frame: pd.DataFrame) -> pd.DataFrame:
    r"""`|` in a cell (a system named `a|b`) would end the cell in Markdown: written as `\|`."""
    return frame.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v)


def render(
    frame: pd.DataFrame, fmt: str, notes: list[str] | None = None, directions: dict[str, bool] | None = None
) -> str:
    """`directions` (metric -> higher is better) marks the best scores and significant wins in md and LaTeX."""
    notes = notes or []
    if directions and fmt in ("md", "latex"):
        text = marked(frame, directions, fmt)
        if "baseline" in frame.columns and frame["baseline"].notna().any():
            notes = notes + [
                f"bold: best per dataset and level; †: significantly better than {frame['baseline'].dropna().iloc[0]}"
            ]
        if fmt == "md":
            table = md_escape(text).to_markdown(index=False, disable_numparse=True)
            return table + "\n" + "".join(f"\n- {note}" for note in notes) + ("\n" if notes else "")
        text = text.rename(columns=lambda c: latex_escape(str(c)))
        table = text.style.hide(axis="index").to_latex(hrules=True, column_format="l" * len(text.columns))
        if notes:
            escaped = [latex_escape(n).replace("†", "$^\\dagger$").replace("|", "$|$") for n in notes]
            table += "\\par\\smallskip\\footnotesize\n" + "".join(f"{note}\\\\\n" for note in escaped)
        return table
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

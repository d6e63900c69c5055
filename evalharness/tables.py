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


def render(frame: pd.DataFrame, fmt: str, notes: list[str] | None = None) -> str:
    notes = notes or []
    if fmt == "csv":
        return to_csv(frame)
    if fmt == "json":
        # json.dumps, not DataFrame.to_json: the latter rounds floats to 15 digits.
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return json.dumps(records, indent=2, ensure_ascii=False, default=lambda o: o.item()) + "\n"
    if fmt == "md":
        table = frame.astype(object).where(frame.notna(), "").to_markdown(index=False, floatfmt=".2f")
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

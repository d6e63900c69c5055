"""The table of `aggregate: [seed]`'s rows (mean, std, min, max over seeds), printed below the table of cells.

A mean over seeds is not a system's score beside the seeds it summarises, and a std is no score at all: sorted
among the cells they read as ranks. So they are split off the summary (`results.split_aggregates`) and shown as a
table of their own, in the order they were computed; `aggregates.csv` holds them.
"""

from __future__ import annotations

import pandas as pd

from evalharness.reporting.tables import render

HEADING = (
    "Over seeds (`aggregate`): mean, std (n-1), min and max of each system's scores at its other settings "
    "(no CI or test; aggregates.csv)"
)


def aggregates_block(aggregates: pd.DataFrame | None, fmt: str, directions: dict[str, bool] | None) -> str:
    """The aggregates as a second Markdown table (with a blank line and a heading before it), or nothing: in csv,
    json and LaTeX the summary stays one table (aggregates.csv has these rows)."""
    if aggregates is None or fmt != "md" or not directions:
        return ""
    notes = ["bold: the best mean per dataset and level"]
    return f"\n{HEADING}\n\n" + render(aggregates, "md", notes, directions, sort="none")

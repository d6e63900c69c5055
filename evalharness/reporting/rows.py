"""What names a row of a summary and what its cells say, shared by the tables for reading (`tables`) and the
paper table (`latex`): the key columns, swept settings as declared, the baseline's and the seed spread's rows."""

from __future__ import annotations

import pandas as pd

from evalharness.results import AGGREGATES, missing
from evalharness.statistics.compare import is_baseline

SORT_KEYS = ("system", "none")  # besides a metric label

MAX_SETTING = 32  # characters of a swept setting's value in a table for reading


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


def key_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that name a row (run, dataset, system, swept settings, level): all up to `level`."""
    columns = [str(c) for c in frame.columns]
    return columns[: columns.index("level") + 1] if "level" in columns else columns[: columns.index("system") + 1]


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


def _setting(value) -> str:
    """A swept setting as a reader wants it: as declared (a beam of 4 not '4.00', a temperature of 1.0 not '1'),
    a long value (a path) cut from the left; summary.csv has it whole."""
    if missing(value):
        return ""
    text = str(value)
    return text if len(text) <= MAX_SETTING else "…" + text[-(MAX_SETTING - 1) :]

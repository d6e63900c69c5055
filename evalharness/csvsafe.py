"""CSV cells that a spreadsheet would run as a formula (CSV injection): a text cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return (a system named after its file `=HYPERLINK(...)`) is written behind a single quote,
as OWASP recommends, and the quote is taken off again when the harness reads its own CSVs back.

Numbers are untouched: numeric columns are written as numbers, and a text that is a plain number (`-1.5`) is no
formula. A text that already starts with quotes before such a character (`'=x`) gets one more, so that reading
back always gives the original text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralised(value: object) -> object:
    """A cell as written: a text a spreadsheet would run, behind a single quote; anything else as it is."""
    if isinstance(value, str) and _NEEDS_QUOTE.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def restored(value: object) -> object:
    """A cell as read back: the text `neutralised` was given."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value


def _mapped(frame: pd.DataFrame, change) -> pd.DataFrame:
    """`frame` with `change` applied to its headers and text cells; columns without a changed cell keep their
    values and dtype."""
    out = frame.rename(columns=change)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        new = [change(value) for value in column]
        if any(a is not b for a, b in zip(new, column, strict=True)):
            out.isetitem(i, np.array(new, dtype=object))
    return out


def to_csv(frame: pd.DataFrame) -> str:
    """The one writer of the harness's CSV text (results files, `table`/`score --format csv`): cells a
    spreadsheet would run are neutralised."""
    return _mapped(frame, neutralised).to_csv(index=False, lineterminator="\n")


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from a CSV that `to_csv` wrote, with the original texts."""
    return _mapped(frame, restored)

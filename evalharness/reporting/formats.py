"""What the command line needs to know about tables before it parses its arguments: the formats, the largest
number of decimals, the terminal's width. A module of its own, standard library only, so that `evalharness
--help` does not load pandas and the table code with it (`reporting.tables` re-exports these names)."""

from __future__ import annotations

import shutil

FORMATS = ("csv", "md", "latex", "json")
MAX_DECIMALS = 6  # of a score (BLEU 0-100): more would only print the float's noise


def terminal_width() -> int:
    """Columns of the terminal: `COLUMNS`, else the terminal's size, else 160 (stdout is a file or a pipe)."""
    return shutil.get_terminal_size((160, 24)).columns

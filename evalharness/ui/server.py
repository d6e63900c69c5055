"""The app's server process: `python -m evalharness.ui.server run APP ... -- FOLDER...` is `python -m streamlit
run ...` with the app's libraries imported first.

Why: Streamlit imports what the app script imports only when the first browser session runs the script, so the
first visitor waited for pandas, Altair, pyarrow and the pages (about 1.5 s of a 3.75 s first render of the WMT22
zh-en run, measured by bench/ui.py). Imported here, before the server answers, they are in `sys.modules` when
the script runs: the launcher waits for the health endpoint, which answers only after this. Nothing else differs
from `streamlit run`: the same arguments, parsed by Streamlit's own command line.
"""

from __future__ import annotations

import importlib
import sys

# Everything app.py and its pages import that takes time to import (measured with `python -X importtime`).
PRELOAD = (
    "pandas",
    "pyarrow.json",
    "altair",
    "evalharness.ui.data",
    "evalharness.ui.views",
    "evalharness.ui.widgets",
    "evalharness.ui.paired",
    "evalharness.ui.screens.leaderboard",
    "evalharness.ui.screens.compare",
    "evalharness.ui.screens.significance",
    "evalharness.ui.screens.sweeps",
    "evalharness.ui.screens.roundtrips",
    "evalharness.ui.screens.score",
)


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)


def main() -> None:
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()  # Streamlit's own command line (click): it exits with the server's status


if __name__ == "__main__":
    main()

"""The Streamlit pieces every page uses: the CSV and LaTeX downloads of the table on screen, the message of a
refused folder or input, a picker over the loaded folders."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from evalharness.ui.data import Folder
from evalharness.ui.views import csv_bytes, latex_table


def downloads(frame: pd.DataFrame, name: str, key: str, latex: str | Callable[[], str] | None = None) -> None:
    """`Download CSV` (the table as shown, every row of the view, full precision) and `Download LaTeX` (the
    current view: `latex`, default a plain booktabs table); keys `<key>_csv` and `<key>_latex`. The files are
    made when a button is clicked (Streamlit's deferred download), not on every rerun: a huge view's CSV and
    LaTeX cost more than drawing the page."""

    def tex() -> bytes:
        text = latex() if callable(latex) else latex if latex is not None else latex_table(frame)
        return text.encode("utf-8")

    left, right = st.columns(2)
    left.download_button(
        "Download CSV",
        lambda: csv_bytes(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )
    right.download_button(
        "Download LaTeX", tex, file_name=f"{name}.tex", mime="text/x-tex", key=f"{key}_latex", on_click="ignore"
    )


def pick_folder(folders: list[Folder], key: str, label: str = "Run") -> Folder:
    """One of the folders (a selectbox only when there are several)."""
    if len(folders) == 1:
        return folders[0]
    names = [f.name for f in folders]
    return folders[names.index(st.selectbox(label, names, key=key))]


def need_folders(folders: list[Folder]) -> bool:
    """False (with a message) when no results folder loaded."""
    if not folders:
        st.info("No results folder loaded: start the app with `evalharness ui RESULTS_DIR...`.")
        return False
    return True

"""Leaderboard: every run given, one table (several folders merged with `evalharness table`'s signature checks),
filtered by dataset, level, metric, system and swept setting, best first, with CIs, p-values against the
baseline, † / ‡ and rank ranges."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from evalharness.errors import UserError
from evalharness.reporting.latex import paper_latex
from evalharness.reporting.leaderboard import WITHIN_RUN_NOTE, Run, check_comparable, merged_summary, merged_tidy
from evalharness.reporting.tables import signature_notes
from evalharness.results import split_aggregates
from evalharness.ui.data import Folder
from evalharness.ui.views import directions_from, filter_summary, leaderboard_view, metrics_of
from evalharness.ui.widgets import downloads, need_folders


@dataclass
class Board:
    summary: pd.DataFrame  # one row per (run,) dataset, cell and level
    scores: pd.DataFrame  # the tidy scores behind it
    notes: list[str]
    refused: str | None = None  # why several folders could not be merged (the first one is shown)
    aggregates: pd.DataFrame | None = None  # mean, std, ... over seeds: a table apart, as `evalharness table`


@st.cache_resource(show_spinner=False, max_entries=8)
def _merged(_folders: tuple[Folder, ...], key: tuple) -> Board:
    """Several folders merged as `evalharness table` merges them (a refused merge: its one line and the first
    folder's own table); one folder: its summary.csv and aggregates.csv."""
    first = _folders[0]
    alone = Board(first.summary, first.scores, signature_notes(first.scores), None, first.aggregates)
    if len(_folders) == 1:
        return alone
    runs = [Run(f.name, f.path, f.scores, f.manifest.get("datasets") or {}) for f in _folders]
    try:
        check_comparable(runs)
    except UserError as err:
        alone.refused = str(err)
        return alone
    scores = merged_tidy(runs)
    summary, aggregates = split_aggregates(merged_summary(runs, directions_from(scores)))
    return Board(summary, scores, [*signature_notes(scores), WITHIN_RUN_NOTE], None, aggregates)


def render(folders: list[Folder]) -> None:
    st.title("Leaderboard")
    if not need_folders(folders):
        return
    board = _merged(tuple(folders), tuple((f.name, str(f.path), f.stamp) for f in folders))
    summary, scores, notes = board.summary, board.scores, board.notes
    if board.refused:
        st.error(f"{board.refused}. Showing {folders[0].name} alone.")
    directions = directions_from(scores)
    every_metric = metrics_of(scores)
    left, middle, right = st.columns(3)
    datasets = left.multiselect("Datasets", sorted(set(summary["dataset"].astype(str))), key="lb_datasets")
    levels = middle.multiselect("Levels", list(dict.fromkeys(summary["level"].astype(str))), key="lb_levels")
    metrics = right.multiselect("Metrics", every_metric, default=every_metric, key="lb_metrics")
    left, right = st.columns(2)
    systems = left.multiselect("Systems", sorted(set(summary["system"].astype(str))), key="lb_systems")
    sort_by = right.selectbox("Best first by", metrics or every_metric, key="lb_sort")
    keys = [c for c in summary.columns[: list(summary.columns).index("level")] if c not in ("run", "dataset", "system")]
    settings = {}
    for key in keys:
        values = sorted({str(v) for v in summary[key].dropna()})
        settings[key] = st.multiselect(f"Setting {key}", values, key=f"lb_setting_{key}")
    full = filter_summary(summary, datasets, levels, systems, settings)
    view = leaderboard_view(full, metrics, directions, sort_by)
    st.dataframe(view, hide_index=True, key="lb_table", width="stretch")
    st.caption(
        "† / ‡: significantly better / worse than the baseline; ranks: WMT rank range (all-pairs runs); "
        "click a column header to sort."
    )
    for note in notes:
        st.caption(note)
    shown = {m: directions[m] for m in metrics if m in directions}
    rows = full.loc[view.index]

    def latex() -> str:  # the paper table of the rows on screen, in their order
        return paper_latex(rows, rows, shown, signature_notes(scores), sort=sort_by) if len(rows) and shown else ""

    downloads(view, "leaderboard", "lb", latex)
    if board.aggregates is not None and len(board.aggregates):
        st.subheader("Over seeds")
        st.dataframe(board.aggregates, hide_index=True, key="lb_aggregates", width="stretch")
        downloads(board.aggregates, "aggregates", "lb_aggregates")

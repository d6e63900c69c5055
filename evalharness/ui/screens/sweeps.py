"""Sweeps: each metric against each swept setting, with the bootstrap CIs, one line per system; the aggregates
over seeds (`aggregate: [seed]`) below."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from evalharness.results import aggregate_mask
from evalharness.results.schema import typed_setting
from evalharness.ui.data import Folder
from evalharness.ui.views import metrics_of
from evalharness.ui.widgets import downloads, need_folders, pick_folder


def sweep_table(folder: Folder, dataset: str, level: str, metric: str, setting: str) -> pd.DataFrame:
    """One row per cell with a value of `setting` (aggregate rows left out): the setting, the system, the other
    settings as text, the score and its CI."""
    scores = folder.scores
    rows = scores[
        (scores["dataset"].astype(str) == dataset)
        & (scores["level"].astype(str) == level)
        & (scores["metric"].astype(str) == metric)
        & scores[setting].notna()
    ]
    rows = rows[~aggregate_mask(rows)] if len(rows) else rows
    others = [k for k in folder.sweep_keys if k != setting]
    line = rows["system"].astype(str)
    for key in others:
        line = line + rows[key].map(lambda v, key=key: "" if pd.isna(v) else f" {key}={v}")
    return pd.DataFrame(
        {
            setting: typed_setting(rows[setting].map(lambda v: None if pd.isna(v) else str(v)).astype(object)),
            "line": line,
            "score": rows["score"],
            "ci_low": rows.get("ci_low"),
            "ci_high": rows.get("ci_high"),
        }
    ).reset_index(drop=True)


def render(folders: list[Folder]) -> None:
    st.title("Sweeps")
    if not need_folders(folders):
        return
    swept = [f for f in folders if f.sweep_keys]
    if not swept:
        st.info("No loaded run has a sweep (`sweep:` in its config).")
        return
    folder = pick_folder(swept, "sw_run")
    scores = folder.scores
    left, middle, right = st.columns(3)
    setting = left.selectbox("Setting", folder.sweep_keys, key="sw_setting")
    dataset = middle.selectbox("Dataset", list(dict.fromkeys(scores["dataset"].astype(str))), key="sw_dataset")
    metric = right.selectbox("Metric", metrics_of(scores), key="sw_metric")
    levels = list(dict.fromkeys(scores[scores["dataset"].astype(str) == dataset]["level"].astype(str)))
    level = st.selectbox("Level", levels, key="sw_level")
    table = sweep_table(folder, dataset, level, metric, setting)
    numeric = pd.api.types.is_numeric_dtype(table[setting])
    x = alt.X(f"{setting}:{'Q' if numeric else 'N'}", title=setting)
    base = alt.Chart(table.assign(**{setting: table[setting] if numeric else table[setting].astype(str)}))
    chart = base.mark_line(point=True).encode(x=x, y=alt.Y("score:Q", title=metric), color="line:N")
    if table["ci_low"].notna().any():
        chart += base.mark_errorbar().encode(x=x, y=alt.Y("ci_low:Q", title=metric), y2="ci_high:Q", color="line:N")
    st.altair_chart(chart, key="sw_chart", width="stretch")
    st.dataframe(table, hide_index=True, key="sw_table", width="stretch")
    downloads(table, f"sweep-{setting}-{metric}", "sw_table")
    aggregates = folder.aggregates
    if aggregates is not None and len(aggregates):
        st.subheader("Aggregates over seeds")
        st.dataframe(aggregates, hide_index=True, key="sw_aggregates", width="stretch")
        downloads(aggregates, "aggregates", "sw_aggregates")

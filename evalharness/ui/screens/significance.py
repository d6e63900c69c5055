"""Significance: the all-pairs p-value matrix of one dataset, level and metric (pairwise.csv), coloured by
whether a pair differs significantly, with the WMT clusters and rank ranges where every pair was tested."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evalharness.ui.data import Folder
from evalharness.ui.views import clusters, directions_from, metrics_of, p_value_matrix
from evalharness.ui.widgets import downloads, need_folders, pick_folder


def _colour(alpha: float):
    def colour(value) -> str:
        if pd.isna(value):
            return "background-color: #eeeeee"
        return "background-color: #9be39b" if value < alpha else "background-color: #f3d08a"

    return colour


def _p_value(value) -> str:
    return "" if pd.isna(value) else f"{value:.4f}"


def render(folders: list[Folder]) -> None:
    st.title("Significance")
    if not need_folders(folders):
        return
    folder = pick_folder(folders, "sig_run")
    scores = folder.scores
    left, middle, right = st.columns(3)
    dataset = left.selectbox("Dataset", list(dict.fromkeys(scores["dataset"].astype(str))), key="sig_dataset")
    levels = list(dict.fromkeys(scores[scores["dataset"].astype(str) == dataset]["level"].astype(str)))
    level = middle.selectbox("Level", levels, key="sig_level")
    metric = right.selectbox("Metric", metrics_of(scores), key="sig_metric")
    higher = directions_from(scores).get(metric, True)
    alpha = float((folder.config.get("statistics") or {}).get("alpha", 0.05))
    matrix = p_value_matrix(scores, folder.pairwise, dataset, level, metric, higher)
    if matrix.empty:
        st.info(f"{dataset}, {level}, {metric}: no scores.")
        return
    shown = matrix.style.map(_colour(alpha)).format(_p_value)  # a callable: Streamlit shows na_rep's NaN as None
    st.dataframe(shown, key="sig_matrix", width="stretch")
    st.caption(f"p-values of the paired test, best system first; green: p < {alpha}; grey: not tested.")
    downloads(matrix.reset_index(), f"p-values-{dataset}-{metric}", "sig_matrix")
    ranked = clusters(scores, matrix, dataset, level, metric, higher, alpha)
    st.subheader("Clusters and rank ranges")
    if ranked is None:
        st.info("Not every pair was tested (the run had no `statistics.all_pairs: true`): no clusters.")
        return
    st.dataframe(ranked, hide_index=True, key="sig_clusters", width="stretch")
    downloads(ranked, f"clusters-{dataset}-{metric}", "sig_clusters")

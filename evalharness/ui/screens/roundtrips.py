"""Round trips and documents: each round-trip segment's pivot text beside it, with the pivot's language and
whether it is the pivot language (a round trip through the wrong language is not a translation); the
documents' sentence alignments and cleaning reports; per-document scores (analysis/documents.csv)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evalharness.results import SEGMENT_COLUMNS
from evalharness.ui.data import Folder
from evalharness.ui.views import lines_of, page_of, pages
from evalharness.ui.widgets import downloads, need_folders, pick_folder


def pivot_table(folder: Folder, dataset: str, cell: str) -> pd.DataFrame:
    """One row per segment of a round trip: source, pivot, its language, valid (in the configured pivot
    language), back translation, reference and the segment's scores."""
    pivot = str((folder.manifest.get("datasets") or {}).get(dataset, {}).get("pivot") or "")
    seg = folder.segments
    rows = seg[(seg["dataset"] == dataset) & (seg["cell"] == cell) & (seg["level"] == "segment")]
    metrics = [c for c in seg.columns if c not in (*SEGMENT_COLUMNS, "cell")]
    out = pd.DataFrame(
        {
            "segment": rows["segment"].astype("int64").to_numpy(),
            "source": rows["source"].astype(object).to_numpy(),
            "pivot": rows["pivot"].astype(object).to_numpy(),
            "pivot_lang": rows["pivot_lang"].astype(object).to_numpy(),
            "valid": (rows["pivot_lang"].astype(str) == pivot).to_numpy() if pivot else pd.NA,
            "back_translation": rows["hypothesis"].astype(object).to_numpy(),
            "reference": [lines_of(r) for r in rows["references"]],
        }
    )
    for metric in metrics:
        out[metric] = rows[metric].to_numpy(dtype=float)
    return out


def render(folders: list[Folder]) -> None:
    st.title("Round trips and documents")
    if not need_folders(folders):
        return
    # The runs with something to show here first (a round trip, documents), the others after.
    has = lambda f: f.segments["pivot"].notna().any() or bool(f.alignments or f.cleaning)  # noqa: E731
    folder = pick_folder(sorted(folders, key=lambda f: not has(f)), "rt_run")
    seg = folder.segments
    round_trips = list(dict.fromkeys(seg[seg["pivot"].notna()]["dataset"].astype(str)))
    st.subheader("Round trips")
    if not round_trips:
        st.info(f"{folder.name}: no round-trip dataset (kind: roundtrip).")
    else:
        left, right = st.columns(2)
        dataset = left.selectbox("Round-trip dataset", round_trips, key="rt_dataset")
        cells = list(dict.fromkeys(seg[seg["dataset"] == dataset]["cell"]))
        cell = right.selectbox("System", cells, key="rt_system")
        table = pivot_table(folder, dataset, cell)
        page = st.number_input(f"Page (of {pages(len(table))})", 1, pages(len(table)), 1, key="rt_page")
        st.dataframe(page_of(table, int(page)), hide_index=True, key="rt_table", width="stretch")
        downloads(table, f"round-trip-{dataset}", "rt_table")
    documents = folder.analysis.get("documents")
    if documents is not None:
        st.subheader("Per-document scores")
        st.dataframe(documents, hide_index=True, key="rt_documents", width="stretch")
        downloads(documents, "documents", "rt_documents")
    st.subheader("Sentence alignments")
    if not folder.alignments:
        st.info(f"{folder.name}: no alignments/ (no documents dataset).")
    else:
        name = st.selectbox("Alignment", list(folder.alignments), key="rt_alignment")
        st.dataframe(folder.alignments[name], hide_index=True, key="rt_alignment_table", width="stretch")
        downloads(folder.alignments[name], name.removesuffix(".tsv"), "rt_alignment")
    st.subheader("Cleaning reports")
    if not folder.cleaning:
        st.info(f"{folder.name}: no cleaning/ reports.")
    for name, text in folder.cleaning.items():
        with st.expander(name):
            st.code(text, language=None)

"""Compare two systems: any two cells of a dataset (sweep points too, from any loaded run): corpus deltas per
metric with the paired test's p-value and the delta's CI, the segments sorted by the difference of a chosen
metric (paginated), filters, word-level differences, and the run's analysis/ tables for the pair."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evalharness.errors import UserError
from evalharness.ui.data import Folder
from evalharness.ui.paired import paired_test
from evalharness.ui.views import (
    ALL,
    PAGE_ROWS,
    SegmentFilter,
    corpus_deltas,
    directions_from,
    filter_segments,
    metrics_of,
    page_of,
    pages,
    pair_segments,
    reading_columns,
    sort_segments,
    word_diff,
)
from evalharness.ui.widgets import downloads, need_folders

DIFF_STYLE = (
    "<style>.eh-diff ins{background:#b7f0b1;text-decoration:none}"
    ".eh-diff del{background:#f6b8b8;text-decoration:none}.eh-diff p{margin:0 0 .2em 0}</style>"
)


def _cells(folders: list[Folder], dataset: str, level: str) -> dict[str, tuple[Folder, str]]:
    """Option label -> (folder, cell) of every cell that scored segments of this dataset and level."""
    out: dict[str, tuple[Folder, str]] = {}
    for folder in folders:
        rows = folder.segments[(folder.segments["dataset"] == dataset) & (folder.segments["level"] == level)]
        for cell in dict.fromkeys(rows["cell"]):
            out[cell if len(folders) == 1 else f"{folder.name}: {cell}"] = (folder, str(cell))
    return out


def _langs(folder: Folder, dataset: str) -> tuple[str, str]:
    pair = str((folder.manifest.get("datasets") or {}).get(dataset, {}).get("langpair") or "")
    if not pair:
        rows = folder.scores[folder.scores["dataset"].astype(str) == dataset]
        pair = str(rows["langpair"].dropna().iloc[0]) if "langpair" in rows and rows["langpair"].notna().any() else ""
    source, _, target = pair.partition("-")
    return source or "en", target or "en"


@st.cache_resource(show_spinner=False, max_entries=16)
def _paired(_a: Folder, _b: Folder, key: tuple) -> pd.DataFrame:
    """The pair's segment table, built once per pair (the filters and sorts work on it)."""
    dataset, level, cell_a, cell_b = key[-4:]

    def rows(folder: Folder, cell: str) -> pd.DataFrame:
        seg = folder.segments
        return seg[(seg["dataset"] == dataset) & (seg["level"] == level) & (seg["cell"] == cell)]

    metrics = [m for m in metrics_of(_a.scores) if m in metrics_of(_b.scores)]
    source, target = _langs(_a, dataset)
    return pair_segments(rows(_a, cell_a), rows(_b, cell_b), metrics, source, target)


def render(folders: list[Folder]) -> None:
    st.title("Compare two systems")
    if not need_folders(folders):
        return
    every = pd.concat([f.segments[["dataset", "level"]] for f in folders], ignore_index=True).drop_duplicates()
    left, right = st.columns(2)
    dataset = left.selectbox("Dataset", list(dict.fromkeys(every["dataset"].astype(str))), key="cmp_dataset")
    levels = list(dict.fromkeys(every[every["dataset"] == dataset]["level"].astype(str)))
    level = right.selectbox("Level", levels, key="cmp_level")
    cells = _cells(folders, dataset, level)
    if len(cells) < 2:
        st.warning(f"{dataset}: fewer than two systems scored segments at level {level}: nothing to compare.")
        return
    names = list(cells)
    left, right = st.columns(2)
    name_a = left.selectbox("System A", names, index=0, key="cmp_a")
    name_b = right.selectbox("System B", names, index=1, key="cmp_b")
    (folder_a, cell_a), (folder_b, cell_b) = cells[name_a], cells[name_b]
    _deltas(folder_a, folder_b, dataset, level, cell_a, cell_b)
    key = (folder_a.name, folder_a.stamp, folder_b.name, folder_b.stamp, dataset, level, cell_a, cell_b)
    pairs = _paired(folder_a, folder_b, key)
    _segments(pairs, directions_from(folder_a.scores), dataset)
    if folder_a is folder_b:
        _analysis(folder_a, dataset, cell_a, cell_b)


def _deltas(folder_a: Folder, folder_b: Folder, dataset: str, level: str, cell_a: str, cell_b: str) -> None:
    st.subheader("Corpus scores")
    if folder_a is folder_b:
        deltas = corpus_deltas(folder_a.scores, folder_a.pairwise, dataset, level, cell_a, cell_b)
        computed = _computed_test(folder_a, dataset, level, cell_a, cell_b, deltas)
        if computed is not None:
            deltas = pd.concat([computed, deltas[~deltas["metric"].isin(computed["metric"])]], ignore_index=True)
    else:  # two runs: scores side by side, no paired test between runs
        a = corpus_deltas(folder_a.scores, None, dataset, level, cell_a, cell_a)
        b = corpus_deltas(folder_b.scores, None, dataset, level, cell_b, cell_b)
        deltas = a[["metric", "A"]].merge(b[["metric", "B"]], on="metric")
        deltas["delta"] = deltas["A"] - deltas["B"]
    st.dataframe(deltas, hide_index=True, key="cmp_deltas", width="stretch")
    st.caption(
        "delta = A − B; p-value of the run's paired test where it tested this pair; CI of the delta where one of "
        "the two is the baseline."
    )
    downloads(deltas, "corpus-deltas", "cmp_deltas")


def _computed_test(
    folder: Folder, dataset: str, level: str, cell_a: str, cell_b: str, deltas: pd.DataFrame
) -> pd.DataFrame | None:
    """The paired test of a pair the run did not test, computed on request (`paired.paired_test`), kept for the
    session; None until asked."""
    if cell_a == cell_b or not deltas["p_value"].isna().any():
        return None
    tested: dict = st.session_state.setdefault("cmp_tested", {})  # pair -> its computed test, for the session
    key = (folder.name, folder.stamp, dataset, level, cell_a, cell_b)
    if key not in tested:
        st.caption("The run did not test this pair.")
        if not st.button("Run the paired test (the run's statistics settings)", key="cmp_test"):
            return None
        seg = folder.segments
        rows = seg[(seg["dataset"] == dataset) & (seg["level"] == level)]
        source, target = _langs(folder, dataset)
        try:
            with st.spinner("Testing the pair…"):
                tested[key] = paired_test(
                    rows[rows["cell"] == cell_a], rows[rows["cell"] == cell_b], folder.config, f"{source}-{target}"
                )
        except UserError as err:
            st.error(str(err))
            return None
    return tested[key]


def _segments(pairs: pd.DataFrame, directions: dict[str, bool], dataset: str) -> None:
    st.subheader("Segments")
    metrics = [c[: -len(" Δ")] for c in pairs.columns if c.endswith(" Δ")]
    if not metrics:
        st.info("These cells have no segment scores.")
        return
    left, middle, right = st.columns(3)
    metric = left.selectbox("Sort by the difference of", metrics, key="cmp_metric")
    order = middle.radio("Order", ["A better first", "B better first"], key="cmp_order", horizontal=True)
    text = right.text_input("Search text", key="cmp_search")
    left, middle, right = st.columns(3)
    length = left.selectbox("Source length", [ALL, *dict.fromkeys(pairs["length"])], key="cmp_length")
    docs = [str(d) for d in dict.fromkeys(pairs["doc_id"]) if d is not None and not pd.isna(d)]
    document = middle.selectbox("Document", [ALL, *docs], key="cmp_document")
    off_target = right.checkbox("Only off-target hypotheses", key="cmp_off_target")
    view = filter_segments(pairs, SegmentFilter(length, document, text, off_target))
    view = sort_segments(view, metric, order == "A better first", directions.get(metric, True))
    view = reading_columns(view, metric)
    n_pages = pages(len(view))
    page = st.number_input(f"Page (of {n_pages}, {PAGE_ROWS} rows each)", 1, n_pages, 1, key="cmp_page")
    shown = page_of(view, int(page))
    st.caption(f"{len(view)} of {len(pairs)} segments")
    st.dataframe(shown, hide_index=True, key="cmp_table", width="stretch")
    downloads(view, f"segments-{dataset}", "cmp_segments")
    against_reference = st.checkbox("Word differences against the reference", key="cmp_diff_ref")
    blocks = [DIFF_STYLE]
    for values in shown.to_dict("records"):
        a, b = str(values["A"] or ""), str(values["B"] or "")
        if against_reference:
            reference = str(values["references"] or "").split("\n")[0]
            (_, a_html), (_, b_html) = word_diff(reference, a), word_diff(reference, b)
        else:
            a_html, b_html = word_diff(a, b)
        blocks.append(
            f"<div class='eh-diff'><p><b>#{values['segment']}</b> {metric} Δ {values[f'{metric} Δ']:.2f}</p>"
            f"<p>A: {a_html}</p><p>B: {b_html}</p></div><hr/>"
        )
    st.markdown("".join(blocks), unsafe_allow_html=True)


def _analysis(folder: Folder, dataset: str, cell_a: str, cell_b: str) -> None:
    st.subheader("Buckets and n-grams (analysis/)")
    if not folder.analysis:
        st.info(f"{folder.name}: no analysis/ tables.")
        return
    for key in ("length", "frequency"):
        table = folder.analysis.get(key)
        if table is None:
            continue
        rows = table[(table["dataset"].astype(str) == dataset) & table["system"].astype(str).isin([cell_a, cell_b])]
        st.markdown(f"**{key.capitalize()} buckets**")
        st.dataframe(rows, hide_index=True, key=f"cmp_{key}_buckets", width="stretch")
        downloads(rows, f"{key}-buckets", f"cmp_{key}_buckets")
    ngrams = folder.analysis.get("ngrams")
    if ngrams is not None:
        pair = {cell_a, cell_b}
        rows = ngrams[
            (ngrams["dataset"].astype(str) == dataset)
            & ngrams["better"].astype(str).isin(pair)
            & ngrams["worse"].astype(str).isin(pair)
        ]
        st.markdown("**N-grams one matches and the other does not**")
        if rows.empty:
            compared = ngrams[ngrams["dataset"].astype(str) == dataset][["better", "worse"]].drop_duplicates()
            pairs = ", ".join(f"{b} vs {w}" for b, w in compared.itertuples(index=False))
            st.info(f"The run compared n-grams of {pairs or 'no pair'} only (the best system and the baseline).")
        else:
            st.dataframe(rows, hide_index=True, key="cmp_ngrams", width="stretch")
            downloads(rows, "ngrams", "cmp_ngrams")

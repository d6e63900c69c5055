"""The Streamlit app over results folders: `streamlit run evalharness/ui/app.py -- DIR [DIR...]`.

The argv contract (stable, the launcher relies on it): the results folders are the arguments after `--`
(`sys.argv[1:]` when there is none); none at all leaves only the Score files page useful. Folders are read
read-only; a folder that cannot be read is one `st.error` naming it (or the file at fault), the app goes on
with the others.

Pages (`st.navigation`, url paths): leaderboard (default), compare, significance, sweeps, roundtrips, score.

Widget keys (labels in parentheses), for tests and browser automation. Downloads are Streamlit's deferred
downloads (the file is made on click). Tables are `st.dataframe`s (no key in the DOM: find them by their column
headers).
- leaderboard: lb_datasets (Datasets), lb_levels (Levels), lb_metrics (Metrics), lb_systems (Systems),
  lb_sort (Best first by), lb_setting_<key> (Setting <key>), lb_table; downloads lb_csv, lb_latex.
- compare: cmp_dataset (Dataset), cmp_level (Level), cmp_a (System A), cmp_b (System B), cmp_deltas (corpus
  deltas table; downloads cmp_deltas_csv / _latex), cmp_test (Run the paired test (the run's statistics
  settings): only for a pair the run did not test), cmp_metric (Sort by the difference of), cmp_order (Order:
  "A better first" / "B better first"), cmp_search (Search text), cmp_length (Source length), cmp_document
  (Document), cmp_off_target (Only off-target hypotheses), cmp_page (Page ...), cmp_table (segment page;
  downloads cmp_segments_csv / _latex: the whole filtered, sorted view), cmp_diff_ref (Word differences against
  the reference); highlighted words are `<ins>` / `<del>` inside `div.eh-diff`; cmp_length_buckets /
  cmp_frequency_buckets / cmp_ngrams (analysis tables, with downloads <key>_csv / _latex).
- significance: sig_run (Run, several folders only), sig_dataset, sig_level, sig_metric, sig_matrix,
  sig_clusters (with downloads <key>_csv / _latex).
- sweeps: sw_run, sw_setting (Setting), sw_dataset, sw_metric, sw_level, sw_chart, sw_table, sw_aggregates.
- roundtrips: rt_run, rt_dataset (Round-trip dataset), rt_system (System), rt_page, rt_table, rt_documents,
  rt_alignment (Alignment), rt_alignment_table.
- score: sc_ref_files (Reference files), sc_hyp_files (Hypothesis files), sc_ref_paths, sc_hyp_paths (paths,
  one per line), sc_metrics (Metrics), sc_langpair, sc_src_path, sc_paired, sc_run (Score), sc_table
  (downloads sc_table_csv / _latex).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from evalharness.errors import UserError
from evalharness.ui.data import Folder, load_all, load_folder, stamp

PAGES = [  # (url path, title, module under evalharness.ui.screens)
    ("leaderboard", "Leaderboard", "leaderboard"),
    ("compare", "Compare two systems", "compare"),
    ("significance", "Significance", "significance"),
    ("sweeps", "Sweeps", "sweeps"),
    ("roundtrips", "Round trips and documents", "roundtrips"),
    ("score", "Score files", "score"),
]


def folders_from_argv(argv: list[str]) -> list[Path]:
    """The results folders: the arguments after `--`, or every argument when there is no `--`."""
    args = argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]
    return [Path(arg) for arg in args]


@st.cache_resource(show_spinner="Reading the results folder…", max_entries=64)
def _cached(path: str, name: str, when: tuple) -> Folder:
    """A folder read once per (path, name, stamp): shared between reruns and sessions without a copy (the pages
    never change a frame in place), so a huge run is not unpickled on every click as `st.cache_data` would."""
    return load_folder(Path(path), name)


def _load(path: Path, name: str) -> Folder:
    return _cached(str(path.resolve()), name, stamp(path))


def page(module: str, folders: list[Folder]) -> Callable[[], None]:
    """The page's `render(folders)` as a function of nothing, named after it (st.Page needs a name)."""
    from importlib import import_module

    render = import_module(f"evalharness.ui.screens.{module}").render

    def draw() -> None:
        try:
            render(folders)
        except UserError as err:  # a file of a folder, or an input, that the page cannot use
            st.error(str(err))
        except Exception as err:  # a folder in a shape the page did not expect: said in the page, logged in full
            logging.getLogger("evalharness.ui").exception("page %s", module)
            st.error(f"{module}: cannot show this page for these folders ({type(err).__name__}: {err})")

    draw.__name__ = module
    return draw


def main(argv: list[str] | None = None) -> None:
    st.set_page_config(page_title="evalharness", layout="wide")
    folders, errors = load_all(folders_from_argv(sys.argv if argv is None else argv), _load)
    for error in errors:
        st.error(error)
    pages = [
        st.Page(page(module, folders), title=title, url_path=url, default=url == "leaderboard")
        for url, title, module in PAGES
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()

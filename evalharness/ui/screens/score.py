"""Score files (as MATEO offers): references and hypothesis files, uploaded or by path, scored with the chosen
metrics by `evalharness score` itself (its parser and `cli.cmd_score`, so the same code path and the same
numbers), shown as the tidy table it prints with `-f csv`, downloadable."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from evalharness.errors import UserError
from evalharness.ui.views import read_back
from evalharness.ui.widgets import downloads

METRIC_CHOICES = ["bleu", "chrf", "chrf++", "ter", "embedding", "embedding-src"]
DEFAULT_METRICS = ["bleu", "chrf", "ter"]


def score_argv(refs: list[Path], hyps: list[tuple[str, Path]], metrics: list[str], **options) -> list[str]:
    """`evalharness score`'s arguments for these files: NAME=PATH per hypothesis, `-f csv`; `options`: src,
    langpair, paired (paired bootstrap against the first system)."""
    argv = ["score", "--ref", *map(str, refs), "--hyp", *(f"{name}={path}" for name, path in hyps)]
    argv += ["--metrics", *metrics, "-f", "csv"]
    if options.get("src"):
        argv += ["--src", str(options["src"])]
    if options.get("langpair"):
        argv += ["--langpair", str(options["langpair"])]
    if options.get("paired"):
        argv += ["--paired-bs"]
    return argv


def run_score(argv: list[str]) -> pd.DataFrame:
    """The table `evalharness score ARGV` prints, as a frame; `UserError` as the command would print it."""
    from evalharness.cli import build_parser, cmd_score

    out = io.StringIO()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as err:  # argparse already said why on stderr
        raise UserError(f"evalharness {' '.join(argv)}: not valid arguments") from err
    with contextlib.redirect_stdout(out):
        cmd_score(args)
    return read_back(out.getvalue())


def _saved(files, folder: Path, what: str) -> list[Path]:
    paths = []
    for k, upload in enumerate(files or []):
        path = folder / what / f"{k}" / Path(upload.name).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.getvalue())
        paths.append(path)
    return paths


def _lines(text: str) -> list[Path]:
    return [Path(line.strip()).expanduser() for line in text.splitlines() if line.strip()]


def render(folders=None) -> None:
    st.title("Score files")
    st.caption("The table `evalharness score` prints (same code path, same numbers); nothing is written anywhere.")
    left, right = st.columns(2)
    ref_uploads = left.file_uploader("Reference files", accept_multiple_files=True, key="sc_ref_files")
    hyp_uploads = right.file_uploader("Hypothesis files", accept_multiple_files=True, key="sc_hyp_files")
    ref_text = left.text_area("…or reference paths (one per line)", key="sc_ref_paths")
    hyp_text = right.text_area("…or hypothesis paths (one per line, NAME=PATH names a system)", key="sc_hyp_paths")
    left, middle, right = st.columns(3)
    metrics = left.multiselect("Metrics", METRIC_CHOICES, default=DEFAULT_METRICS, key="sc_metrics")
    langpair = middle.text_input("Language pair (e.g. de-en)", key="sc_langpair")
    src_text = right.text_input("Source path (for embedding-src)", key="sc_src_path")
    paired = st.checkbox("Paired bootstrap against the first system", key="sc_paired")
    if st.button("Score", key="sc_run"):
        table = _score(ref_uploads, hyp_uploads, ref_text, hyp_text, metrics, src_text, langpair, paired)
        if table is not None:
            st.session_state["sc_result"] = table
    result = st.session_state.get("sc_result")
    if result is not None:
        st.dataframe(result, hide_index=True, key="sc_table", width="stretch")
        downloads(result, "scores", "sc_table")


def _score(ref_uploads, hyp_uploads, ref_text, hyp_text, metrics, src_text, langpair, paired) -> pd.DataFrame | None:
    """The table of the given files, or None after saying in the page why there is none."""
    with tempfile.TemporaryDirectory(prefix="evalharness-ui-") as tmp:
        refs = _saved(ref_uploads, Path(tmp), "refs") + _lines(ref_text)
        hyps = [(p.stem if p.suffix else p.name, p) for p in _saved(hyp_uploads, Path(tmp), "hyps")]
        for line in hyp_text.splitlines():
            if line.strip():
                name, sep, path = line.strip().partition("=")
                hyps.append((name, Path(path)) if sep else (Path(name).name, Path(name)))
        if not refs or not hyps or not metrics:
            st.error("Give at least one reference file, one hypothesis file and one metric.")
            return None
        argv = score_argv(refs, hyps, metrics, src=src_text.strip(), langpair=langpair.strip(), paired=paired)
        try:
            with st.spinner("Scoring…"):
                return run_score(argv)
        except UserError as err:
            st.error(str(err))
            return None

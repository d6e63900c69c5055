"""The browser app's pages, run by Streamlit's own test harness (AppTest) on real results folders: the numbers
each page shows are the ones in the folder's files, a bad folder is a message in the page (never a traceback),
and every download holds the table on screen.

The folders are real runs (tests/ui_runs.py: eight WMT22 de-en segments, given outputs, made once per module)
and the committed results/seeds (round trips, alignments, cleaning reports)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import sacrebleu
from evalharness.results import read_csv
from evalharness.ui.data import load_folder
from evalharness.ui.paired import paired_test
from evalharness.ui.views import read_back
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ui_runs import make_runs

APP = ROOT / "evalharness" / "ui" / "app.py"
SEEDS = ROOT / "results" / "seeds"
TIMEOUT = 60


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    return make_runs(tmp_path_factory.mktemp("ui"))


def page_script(module: str, paths: list[str]) -> None:
    """One page of the app over these folders, as the app draws it (AppTest runs this function's source)."""
    from pathlib import Path

    import streamlit as st
    from evalharness.ui.app import _load, page
    from evalharness.ui.data import load_all

    folders, errors = load_all([Path(p) for p in paths], _load)
    for error in errors:
        st.error(error)
    page(module, folders)()


def open_page(module: str, *folders: Path) -> AppTest:
    return AppTest.from_function(page_script, args=(module, [str(f) for f in folders]), default_timeout=TIMEOUT).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The one table on the page that has these columns."""
    found = [d.value for d in at.dataframe if set(columns) <= set(map(str, d.value.columns))]
    assert len(found) == 1, f"{len(found)} tables with columns {columns}"
    return found[0]


class Downloads(MediaFileManager):
    """The media files of a run, kept so that a test can make and read what a download button hands out."""

    last: Downloads | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Downloads.last = self


@pytest.fixture
def downloads(monkeypatch):
    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Downloads)


def downloaded(at: AppTest, key: str) -> bytes:
    """The bytes the download button `key` hands out when clicked (its deferred file, made now)."""
    buttons = [b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}")]
    assert len(buttons) == 1, f"no download button {key}"
    assert Downloads.last is not None
    proto = buttons[0].proto
    url = Downloads.last.execute_deferred(proto.deferred_file_id) if proto.deferred_file_id else proto.url
    return Downloads.last._storage.get_file(url.rsplit("/", 1)[1]).content


def plain(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as text, an empty text or any missing value as None: what a CSV can tell apart (the rank
    range `1` reads back as a number)."""
    frame = frame.reset_index(drop=True).astype(object)
    return [
        {k: None if (v == "" or pd.isna(v)) else str(v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def summary_of(folder: Path) -> pd.DataFrame:
    return read_csv(folder / "summary.csv")


def segments_of(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "segments.jsonl").read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------------------------------------ the app


def test_the_app_takes_the_folders_after_the_double_dash_and_opens_on_the_leaderboard(runs, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(APP), "--", str(runs["tiny"])])
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_traceback(at)
    assert at.title[0].value == "Leaderboard"
    shown = table(at, "system", "BLEU")
    assert sorted(shown["system"]) == sorted(summary_of(runs["tiny"])["system"])


def test_the_app_says_which_folder_is_not_a_results_folder_and_shows_the_others(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(APP), "--", str(tmp_path), str(runs["tiny"])])
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_traceback(at)
    assert [e.value for e in at.error] == [
        f"{tmp_path}: no manifest.json, so not a whole results folder (a run writes it last: the run was cut off, "
        "or this is not a run's results folder)"
    ]
    assert len(table(at, "system", "BLEU")) == 4


# ---------------------------------------------------------------------------------------------- bad folders


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_a_half_written_folder_is_a_message_naming_the_missing_file(runs, tmp_path):
    folder = copy_of(runs["tiny"], tmp_path)
    (folder / "summary.csv").unlink()
    at = open_page("leaderboard", folder)
    no_traceback(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(f"{folder / 'summary.csv'} is missing, though the manifest lists it")


def test_an_edited_file_is_a_message_naming_it(runs, tmp_path):
    folder = copy_of(runs["tiny"], tmp_path)
    with open(folder / "scores.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    at = open_page("compare", folder)
    no_traceback(at)
    assert at.error[0].value.startswith(f"{folder / 'scores.csv'} does not match the manifest")


def test_a_foreign_folder_is_a_message_naming_its_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text('{"name": "another tool"}', encoding="utf-8")
    at = open_page("significance", tmp_path)
    no_traceback(at)
    assert at.error[0].value == (
        f"{tmp_path / 'manifest.json'}: not a run's manifest (it names no evalharness version): not a results folder"
    )


def test_a_missing_folder_is_a_message(tmp_path):
    at = open_page("sweeps", tmp_path / "nowhere")
    no_traceback(at)
    assert at.error[0].value == f"{tmp_path / 'nowhere'}: not a results folder (no such folder)"


@pytest.mark.slow  # every page once: seconds
def test_no_page_writes_into_a_results_folder(runs, tmp_path):
    folder = copy_of(runs["tiny"], tmp_path)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    for module in ("leaderboard", "compare", "significance", "sweeps", "roundtrips", "score"):
        no_traceback(open_page(module, folder))
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    assert after == before


# ---------------------------------------------------------------------------------------------- leaderboard


def test_the_leaderboard_shows_the_summarys_scores_cis_and_p_values(runs):
    at = open_page("leaderboard", runs["tiny"])
    shown = table(at, "system", "BLEU").set_index("system")
    summary = summary_of(runs["tiny"]).set_index("system")
    for column in ("BLEU", "BLEU ci_low", "BLEU ci_high", "BLEU p_value", "chrF2", "chrF2 ci_high"):
        pd.testing.assert_series_equal(
            shown[column].sort_index(), summary[column].sort_index(), check_names=False, check_dtype=False
        )


def test_the_leaderboard_marks_significant_wins_and_gives_rank_ranges(runs):
    shown = table(open_page("leaderboard", runs["tiny"]), "system", "BLEU").set_index("system")
    summary = summary_of(runs["tiny"]).set_index("system")
    for system in summary.index:
        low, high = summary.at[system, "BLEU rank_low"], summary.at[system, "BLEU rank_high"]
        assert shown.at[system, "BLEU ranks"] == (f"{low}" if low == high else f"{low}–{high}")
        won = summary.at[system, "BLEU significant"] is True and summary.at[system, "BLEU delta"] > 0
        assert shown.at[system, "BLEU sig"] == ("†" if won else "")


def test_the_leaderboard_is_best_first_by_the_chosen_metric(runs):
    at = open_page("leaderboard", runs["tiny"])
    at.selectbox(key="lb_sort").set_value("chrF2").run()
    shown = table(at, "system", "chrF2")
    assert list(shown["chrF2"]) == sorted(summary_of(runs["tiny"])["chrF2"], reverse=True)


def test_the_leaderboard_filters_systems_and_metrics(runs):
    at = open_page("leaderboard", runs["tiny"])
    at.multiselect(key="lb_systems").set_value(["mt", "copy"]).run()
    at.multiselect(key="lb_metrics").set_value(["chrF2"]).run()
    shown = table(at, "system", "chrF2")
    assert sorted(shown["system"]) == ["copy", "mt"]
    assert "BLEU" not in shown.columns


def test_several_runs_are_one_leaderboard_with_a_run_column_and_each_sweep_point(runs):
    at = open_page("leaderboard", runs["tiny"], runs["swept"])
    no_traceback(at)
    shown = table(at, "run", "system", "path", "BLEU")
    swept = summary_of(runs["swept"])
    rows = shown[shown["run"] == "swept"]
    assert sorted(rows["BLEU"]) == sorted(swept["BLEU"])
    assert set(rows["path"].dropna()) == set(swept["path"].dropna())
    assert len(shown) == 4 + len(swept)


def test_runs_scored_differently_are_refused_in_one_message_and_the_first_is_shown_alone(runs):
    at = open_page("leaderboard", runs["tiny"], runs["intl"])
    no_traceback(at)
    assert [e.value for e in at.error] == [
        f"{runs['tiny']} and {runs['intl']} are not comparable: dataset tiny-de-en, level segment, metric BLEU: "
        "different signature (tok:13a vs tok:intl). Showing tiny alone."
    ]
    assert "run" not in table(at, "system", "BLEU").columns


def test_the_leaderboard_filters_by_sweep_setting(runs):
    at = open_page("leaderboard", runs["swept"])
    at.multiselect(key="lb_setting_path").set_value(["data/hyp.PROMT.en"]).run()
    shown = table(at, "system", "BLEU")
    summary = summary_of(runs["swept"])
    assert list(shown["BLEU"]) == list(summary[summary["path"] == "data/hyp.PROMT.en"]["BLEU"])


def test_the_leaderboard_downloads_are_the_table_and_its_paper_latex(runs, downloads):
    at = open_page("leaderboard", runs["tiny"])
    shown = table(at, "system", "BLEU")
    assert plain(read_back(downloaded(at, "lb_csv").decode())) == plain(shown)
    latex = downloaded(at, "lb_latex").decode()
    assert "\\begin{tabular}" in latex and f"{shown['BLEU'].max():.2f}" in latex


# ---------------------------------------------------------------------------------------------- compare


def compare(runs, a: str, b: str, **widgets) -> AppTest:
    """The compare page of the tiny run with A, B and the other widgets set (one rerun for all of them)."""
    at = open_page("compare", runs["tiny"])
    at.selectbox(key="cmp_a").set_value(a)
    at.selectbox(key="cmp_b").set_value(b)
    for key, value in widgets.items():
        if key == "cmp_search":
            at.text_input(key=key).input(value)
        elif key in ("cmp_off_target", "cmp_diff_ref"):
            at.checkbox(key=key).set_value(value)
        elif key == "cmp_order":
            at.radio(key=key).set_value(value)
        else:
            at.selectbox(key=key).set_value(value)
    at.run()
    no_traceback(at)
    return at


def test_compare_shows_both_scores_and_the_pairwise_p_value(runs):
    deltas = table(compare(runs, "PROMT", "mt"), "metric", "p_value").set_index("metric")
    pairwise = read_csv(runs["tiny"] / "pairwise.csv")
    for metric in ("BLEU", "chrF2"):
        row = pairwise[
            (pairwise["metric"] == metric) & (pairwise["system_a"] == "PROMT") & (pairwise["system_b"] == "mt")
        ]
        assert deltas.at[metric, "A"] == row["score_a"].iloc[0]
        assert deltas.at[metric, "B"] == row["score_b"].iloc[0]
        assert deltas.at[metric, "p_value"] == row["p_value"].iloc[0]


def test_compare_gives_the_deltas_ci_against_the_baseline_either_way_round(runs):
    scores = read_csv(runs["tiny"] / "scores.csv")
    mt = scores[(scores["system"] == "mt") & (scores["metric"] == "BLEU")].iloc[0]
    forward = table(compare(runs, "mt", "copy"), "metric", "delta_ci_low").set_index("metric")
    assert (forward.at["BLEU", "delta_ci_low"], forward.at["BLEU", "delta_ci_high"]) == (
        mt["delta_ci_low"],
        mt["delta_ci_high"],
    )
    backward = table(compare(runs, "copy", "mt"), "metric", "delta_ci_low").set_index("metric")
    assert (backward.at["BLEU", "delta_ci_low"], backward.at["BLEU", "delta_ci_high"]) == (
        -mt["delta_ci_high"],
        -mt["delta_ci_low"],
    )


def segment_deltas(runs, a: str, b: str, metric: str) -> dict[int, float]:
    scores = {(r["system"], r["segment"]): r["scores"][metric] for r in segments_of(runs["tiny"])}
    return {seg: scores[(a, seg)] - scores[(b, seg)] for (system, seg) in scores if system == a}


def test_compare_sorts_segments_by_the_difference_of_the_chosen_metric(runs):
    shown = table(compare(runs, "PROMT", "mt", cmp_metric="chrF2"), "segment", "chrF2 Δ")
    expected = segment_deltas(runs, "PROMT", "mt", "chrF2")
    assert list(shown["segment"]) == sorted(expected, key=lambda seg: (-expected[seg], seg))
    assert dict(zip(shown["segment"], shown["chrF2 Δ"], strict=True)) == expected


def test_compare_puts_b_better_first_on_request(runs):
    shown = table(compare(runs, "PROMT", "mt", cmp_order="B better first"), "segment", "BLEU Δ")
    expected = segment_deltas(runs, "PROMT", "mt", "BLEU")
    assert list(shown["segment"]) == sorted(expected, key=lambda seg: (expected[seg], seg))


def test_compare_shows_source_references_and_both_hypotheses(runs):
    shown = table(compare(runs, "PROMT", "mt"), "segment", "A", "B").set_index("segment")
    records = {(r["system"], r["segment"]): r for r in segments_of(runs["tiny"])}
    for segment in shown.index:
        promt, mt = records[("PROMT", segment)], records[("mt", segment)]
        assert shown.at[segment, "A"] == promt["hypothesis"] and shown.at[segment, "B"] == mt["hypothesis"]
        assert shown.at[segment, "source"] == promt["source"]
        assert shown.at[segment, "references"] == "\n".join(promt["references"])
        assert shown.at[segment, "BLEU A"] == promt["scores"]["BLEU"]


def test_compare_searches_the_texts(runs):
    shown = table(compare(runs, "PROMT", "mt", cmp_search="EURO"), "segment", "A")
    texts: dict[int, str] = {}
    for r in segments_of(runs["tiny"]):
        if r["system"] in ("PROMT", "mt"):
            texts[r["segment"]] = texts.get(r["segment"], "") + r["source"] + r["hypothesis"] + "".join(r["references"])
    wanted = sorted(segment for segment, text in texts.items() if "euro" in text.lower())
    assert wanted and sorted(shown["segment"]) == wanted


def test_compare_filters_by_source_length_bucket(runs):
    shown = table(compare(runs, "PROMT", "mt", cmp_length="<10"), "segment", "length")
    assert len(shown) and set(shown["length"]) == {"<10"}


def test_compare_highlights_the_words_the_hypotheses_do_not_share(runs):
    at = compare(runs, "Online-B", "mt")
    html = next(m.value for m in at.markdown if "eh-diff" in m.value)
    assert "<ins>" in html and "<del>" in html


def test_compare_downloads_the_whole_filtered_sorted_view(runs, downloads):
    at = compare(runs, "PROMT", "mt", cmp_length="10-19")
    shown = table(at, "segment", "BLEU Δ")
    got = read_back(downloaded(at, "cmp_segments_csv").decode())
    assert list(got["segment"]) == list(shown["segment"])
    assert list(got["BLEU Δ"]) == list(shown["BLEU Δ"])


def test_compare_shows_the_runs_length_buckets_of_the_pair(runs):
    shown = table(compare(runs, "PROMT", "copy"), "bucket", "segments", "BLEU")
    length = pd.read_csv(runs["tiny"] / "analysis" / "length.csv", keep_default_na=False, na_values=[""])
    expected = length[length["system"].isin(["PROMT", "copy"])]
    assert list(shown["BLEU"]) == list(expected["BLEU"])


LT22, PROMT = 'mt [path="data/hyp.LT22.en"]', 'mt [path="data/hyp.PROMT.en"]'


def test_a_pair_the_run_did_not_test_is_tested_on_request_with_the_runs_settings(runs):
    at = open_page("compare", runs["swept"])
    at.selectbox(key="cmp_a").set_value(PROMT)
    at.selectbox(key="cmp_b").set_value(LT22).run()
    assert table(at, "metric", "p_value")["p_value"].isna().all()
    at.button(key="cmp_test").click().run()
    no_traceback(at)
    deltas = table(at, "metric", "p_value").set_index("metric")
    assert deltas["p_value"].notna().all() and set(deltas["tested"]) == {
        "computed here (the run's statistics settings)"
    }


def test_the_computed_paired_test_is_the_runs_own(runs):
    """Online-B vs PROMT: the run's all-pairs p-value and scores, computed again from segments.jsonl."""
    folder = load_folder(runs["tiny"])
    rows = folder.segments
    computed = paired_test(rows[rows["cell"] == "Online-B"], rows[rows["cell"] == "PROMT"], folder.config, "de-en")
    pairwise = read_csv(runs["tiny"] / "pairwise.csv")
    for metric in ("BLEU", "chrF2"):
        row = pairwise[(pairwise["metric"] == metric) & (pairwise["system_a"] == "Online-B")]
        row = row[row["system_b"] == "PROMT"].iloc[0]
        got = computed[computed["metric"] == metric].iloc[0]
        assert (got["A"], got["B"], got["p_value"]) == (row["score_a"], row["score_b"], row["p_value"])


# ---------------------------------------------------------------------------------------------- significance


def test_the_significance_matrix_holds_every_pairs_p_value(runs):
    at = open_page("significance", runs["tiny"])
    no_traceback(at)
    matrix = table(at, "PROMT", "mt", "copy")
    pairwise = read_csv(runs["tiny"] / "pairwise.csv")
    for row in pairwise[pairwise["metric"] == "BLEU"].itertuples():
        assert matrix.at[row.system_a, row.system_b] == row.p_value == matrix.at[row.system_b, row.system_a]


def test_a_run_that_tested_against_its_baseline_only_has_no_clusters(runs):
    at = open_page("significance", runs["swept"])
    matrix = table(at, "copy")
    assert matrix.at[LT22, PROMT] != matrix.at[LT22, PROMT]  # NaN: not tested
    assert at.info[0].value.startswith("Not every pair was tested")


def test_the_clusters_rank_ranges_are_the_runs(runs):
    at = open_page("significance", runs["tiny"])
    at.selectbox(key="sig_metric").set_value("chrF2").run()
    shown = table(at, "system", "cluster", "ranks").set_index("system")
    summary = summary_of(runs["tiny"]).set_index("system")
    for system in summary.index:
        low, high = summary.at[system, "chrF2 rank_low"], summary.at[system, "chrF2 rank_high"]
        assert shown.at[system, "ranks"] == (f"{low}" if low == high else f"{low}–{high}")


# ---------------------------------------------------------------------------------------------- sweeps


def test_the_sweep_table_is_the_score_of_each_sweep_point(runs):
    at = open_page("sweeps", runs["swept"])
    no_traceback(at)
    shown = table(at, "path", "line", "score")
    scores = read_csv(runs["swept"] / "scores.csv")
    expected = scores[(scores["metric"] == "BLEU") & scores["path"].notna()]
    assert list(shown["score"]) == list(expected["score"]) and list(shown["ci_low"]) == list(expected["ci_low"])
    assert list(shown["path"]) == list(expected["path"])


def test_a_run_without_a_sweep_says_so(runs):
    at = open_page("sweeps", runs["tiny"])
    assert at.info[0].value == "No loaded run has a sweep (`sweep:` in its config)."


# ---------------------------------------------------------------------------------------------- round trips


def test_the_round_trip_table_shows_each_pivot_with_its_language_and_validity():
    at = open_page("roundtrips", SEEDS)
    no_traceback(at)
    shown = table(at, "pivot", "pivot_lang", "valid")
    records = [r for r in segments_of(SEEDS) if r["dataset"] == "seeds-zh-origin" and r["system"] == "gemma-270m"]
    assert list(shown["pivot"]) == [r["pivot"] for r in records]
    assert list(shown["valid"]) == [r["pivot_lang"] == "zh" for r in records]


def test_the_page_opens_on_a_run_with_round_trips_or_documents(runs):
    at = open_page("roundtrips", runs["tiny"], SEEDS)
    assert at.selectbox(key="rt_run").value == "seeds"
    assert len(table(at, "pivot", "pivot_lang", "valid"))


def test_the_alignments_and_cleaning_reports_are_shown():
    at = open_page("roundtrips", SEEDS)
    shown = table(at, "source_ids", "reference_ids")
    assert len(shown) == len((SEEDS / "alignments" / "seeds-de-en.tsv").read_text(encoding="utf-8").splitlines()) - 1
    report = (SEEDS / "cleaning" / "seeds-de-en.txt").read_text(encoding="utf-8")
    assert report.strip() in [c.value.strip() for c in at.code]


# ---------------------------------------------------------------------------------------------- score files


def score_page(refs: str, hyps: str, metrics: list[str]) -> AppTest:
    at = open_page("score")
    at.text_area(key="sc_ref_paths").input(refs)
    at.text_area(key="sc_hyp_paths").input(hyps)
    at.multiselect(key="sc_metrics").set_value(metrics)
    at.button(key="sc_run").click().run()
    no_traceback(at)
    return at


def test_score_files_gives_sacrebleus_own_scores(runs, downloads):
    data = runs["tiny"].parents[1] / "data"
    at = score_page(str(data / "ref.A.en"), f"promt={data / 'hyp.PROMT.en'}", ["bleu", "chrf"])
    shown = table(at, "system", "metric", "score").set_index("metric")
    refs = (data / "ref.A.en").read_text(encoding="utf-8").splitlines()
    hyps = (data / "hyp.PROMT.en").read_text(encoding="utf-8").splitlines()
    assert shown.at["BLEU", "score"] == sacrebleu.corpus_bleu(hyps, [refs]).score
    assert shown.at["chrF2", "score"] == sacrebleu.corpus_chrf(hyps, [refs]).score
    assert plain(read_back(downloaded(at, "sc_table_csv").decode())) == plain(table(at, "system", "metric", "score"))


def test_score_files_takes_uploaded_files_named_by_their_file_names(runs):
    data = runs["tiny"].parents[1] / "data"
    at = open_page("score")
    at.file_uploader(key="sc_ref_files").set_value(("ref.A.en", (data / "ref.A.en").read_bytes(), "text/plain"))
    hyps = [(f"{s}.txt", (data / f"hyp.{s}.en").read_bytes(), "text/plain") for s in ("Online-B", "PROMT")]
    at.file_uploader(key="sc_hyp_files").set_value(hyps)
    at.multiselect(key="sc_metrics").set_value(["bleu"])
    at.button(key="sc_run").click().run()
    no_traceback(at)
    shown = table(at, "system", "metric", "score").set_index("system")
    refs = (data / "ref.A.en").read_text(encoding="utf-8").splitlines()
    for system in ("Online-B", "PROMT"):
        hyps_text = (data / f"hyp.{system}.en").read_text(encoding="utf-8").splitlines()
        assert shown.at[system, "score"] == sacrebleu.corpus_bleu(hyps_text, [refs]).score


def test_score_files_says_what_is_wrong_with_the_input(runs, tmp_path):
    data = runs["tiny"].parents[1] / "data"
    short = tmp_path / "short.en"
    short.write_text("one line\n", encoding="utf-8")
    at = score_page(str(data / "ref.A.en"), str(short), ["bleu"])
    assert len(at.error) == 1 and str(short) in at.error[0].value

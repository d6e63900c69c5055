"""The app's logic without Streamlit (evalharness/ui/views.py, data.py, app.py's argv): word differences, the
segment table's filters, sort and pages, the leaderboard view, the p-value matrix, cell names, folder loading."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evalharness.errors import UserError
from evalharness.ui.app import folders_from_argv
from evalharness.ui.data import cell_label, load_all, load_folder, read_segments_frame
from evalharness.ui.screens.score import score_argv
from evalharness.ui.views import (
    ALL,
    SegmentFilter,
    clusters,
    filter_segments,
    latex_table,
    leaderboard_view,
    length_bucket,
    p_value_matrix,
    page_of,
    pages,
    rank_range,
    reading_columns,
    significance_mark,
    sort_segments,
    word_diff,
)

from conftest import ROOT

SEEDS = ROOT / "results" / "seeds"

# ---------------------------------------------------------------------------------------------- word diffs


def test_word_diff_marks_only_the_words_one_side_lacks():
    a, b = word_diff("the cat sat on the mat", "the dog sat on the mat today")
    assert a == "the <del>cat</del> sat on the mat"
    assert b == "the <ins>dog</ins> sat on the mat <ins>today</ins>"


def test_word_diff_of_equal_texts_marks_nothing():
    assert word_diff("same words here", "same  words here") == ("same words here", "same words here")


def test_word_diff_escapes_the_texts_html():
    a, b = word_diff("<b>x</b> & y", "<b>x</b> & z")
    assert a == "&lt;b&gt;x&lt;/b&gt; &amp; <del>y</del>" and b == "&lt;b&gt;x&lt;/b&gt; &amp; <ins>z</ins>"


# ------------------------------------------------------------------------------------------- segment table


def pairs(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "segment": list(range(1, n + 1)),
        "doc_id": [None] * n,
        "source": ["s"] * n,
        "references": ["r"] * n,
        "A": ["a"] * n,
        "B": ["b"] * n,
        "length": ["<10"] * n,
        "off_target": [False] * n,
    }
    return pd.DataFrame({**base, **columns})


def test_segments_sort_by_the_difference_a_better_first_missing_last():
    frame = pairs(**{"BLEU Δ": [1.0, np.nan, 5.0, -2.0, 5.0]})
    assert list(sort_segments(frame, "BLEU", a_better_first=True)["segment"]) == [3, 5, 1, 4, 2]
    assert list(sort_segments(frame, "BLEU", a_better_first=False)["segment"]) == [4, 1, 3, 5, 2]


def test_a_lower_is_better_metric_sorts_the_other_way():
    frame = pairs(**{"TER Δ": [1.0, -3.0, 2.0]})
    assert list(sort_segments(frame, "TER", a_better_first=True, higher=False)["segment"]) == [2, 1, 3]


def test_the_text_search_looks_in_every_text_ignoring_case():
    frame = pairs(source=["Haus", "x", "y", "z"], references=["r", "HOUSE", "r", "r"], A=["a", "a", "house", "a"])
    assert list(filter_segments(frame, SegmentFilter(text="house"))["segment"]) == [2, 3]


def test_filters_by_length_bucket_document_and_off_target_combine():
    frame = pairs(
        length=["<10", "10-19", "<10", "<10"],
        doc_id=["d1", "d1", "d2", "d1"],
        off_target=[True, True, True, False],
    )
    chosen = SegmentFilter(length="<10", document="d1", off_target=True)
    assert list(filter_segments(frame, chosen)["segment"]) == [1]
    assert len(filter_segments(frame, SegmentFilter(ALL, ALL, "", False))) == 4


def test_the_segment_table_reads_segment_difference_hypotheses_then_the_rest():
    frame = pairs(**{"BLEU A": [1.0], "BLEU Δ": [0.5], "TER Δ": [2.0]})
    assert list(reading_columns(frame, "TER").columns)[:6] == ["segment", "TER Δ", "A", "B", "references", "source"]


def test_pages_hold_fifty_rows_and_a_page_past_the_end_is_the_last():
    frame = pairs(**{"BLEU Δ": [0.0] * 120})
    assert pages(len(frame)) == 3 and pages(0) == 1
    assert list(page_of(frame, 2)["segment"]) == list(range(51, 101))
    assert list(page_of(frame, 9)["segment"]) == list(range(101, 121))


def test_length_buckets_are_the_analysis_buckets():
    assert length_bucket("ein zwei drei", "de") == "<10"
    assert length_bucket(" ".join(["Wort"] * 10), "de") == "10-19"
    assert length_bucket("这是一个测试", "zh") == "<10"
    assert length_bucket(" ".join(["x"] * 75), "en") == "50+"


# ---------------------------------------------------------------------------------------------- leaderboard


def test_rank_ranges_print_as_wmt_prints_them():
    assert rank_range(1, 1) == "1" and rank_range(2, 4) == "2–4" and rank_range(None, None) == ""


def test_a_dagger_needs_a_significant_win_and_a_double_dagger_a_significant_loss():
    assert significance_mark("True", "False", 2.0, higher=True) == "†"
    assert significance_mark("True", "False", -2.0, higher=True) == ""
    assert significance_mark("True", "False", -2.0, higher=False) == "†"
    assert significance_mark("True", "True", -2.0, higher=True) == "‡"
    assert significance_mark("False", "False", 2.0, higher=True) == ""


def test_the_leaderboard_is_best_first_within_each_dataset_in_the_metrics_direction():
    summary = pd.DataFrame(
        {
            "dataset": ["d1", "d1", "d2", "d2"],
            "system": ["a", "b", "a", "b"],
            "level": ["segment"] * 4,
            "TER": [50.0, 40.0, 30.0, 60.0],
        }
    )
    view = leaderboard_view(summary, ["TER"], {"TER": False})
    order = list(zip(view["dataset"], view["system"], strict=True))
    assert order == [("d1", "b"), ("d1", "a"), ("d2", "a"), ("d2", "b")]


# ---------------------------------------------------------------------------------------------- significance


def scores_frame(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": "d",
            "system": list(values),
            "level": "segment",
            "metric": "BLEU",
            "score": list(values.values()),
            "direction": "higher",
        }
    )


def pairwise_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": "d",
            "level": "segment",
            "metric": "BLEU",
            "cell_a": [a for a, _, _ in rows],
            "cell_b": [b for _, b, _ in rows],
            "p_value": [p for _, _, p in rows],
        }
    )


def test_the_matrix_is_symmetric_best_first_and_empty_where_untested():
    scores = scores_frame({"low": 10.0, "high": 30.0, "mid": 20.0})
    tested = pairwise_frame([("high", "low", 0.01), ("mid", "low", 0.2)])
    matrix = p_value_matrix(scores, tested, "d", "segment", "BLEU")
    assert list(matrix.index) == list(matrix.columns) == ["high", "mid", "low"]
    assert matrix.at["low", "high"] == matrix.at["high", "low"] == 0.01
    assert math.isnan(matrix.at["high", "mid"]) and math.isnan(matrix.at["mid", "mid"])
    assert clusters(scores, matrix, "d", "segment", "BLEU", True, 0.05) is None


def test_a_mean_over_seeds_is_no_cell_of_the_matrix():
    scores = pd.DataFrame(
        {
            "dataset": "d",
            "system": "lm",
            "seed": pd.Series([1, 2, "mean"], dtype=object),
            "level": "segment",
            "metric": "BLEU",
            "score": [20.0, 22.0, 21.0],
            "direction": "higher",
        }
    )
    matrix = p_value_matrix(scores, None, "d", "segment", "BLEU")
    assert list(matrix.index) == ["lm [seed=2]", "lm [seed=1]"]


def test_clusters_follow_the_p_values_when_every_pair_was_tested():
    scores = scores_frame({"a": 30.0, "b": 29.0, "c": 10.0})
    tested = pairwise_frame([("a", "b", 0.4), ("a", "c", 0.001), ("b", "c", 0.001)])
    matrix = p_value_matrix(scores, tested, "d", "segment", "BLEU")
    ranked = clusters(scores, matrix, "d", "segment", "BLEU", True, 0.05)
    assert ranked is not None
    assert ranked.to_dict("list") == {
        "system": ["a", "b", "c"],
        "BLEU": [30.0, 29.0, 10.0],
        "cluster": [1, 1, 2],
        "ranks": ["1–2", "1–2", "3"],
    }


# ---------------------------------------------------------------------------------------------- downloads


def test_the_latex_of_a_view_escapes_names_and_rounds_numbers():
    text = latex_table(pd.DataFrame({"system": ["a_b & c"], "BLEU": [12.3456]}))
    assert "a\\_b \\& c & 12.35 \\\\" in text and "\\begin{tabular}{lr}" in text


# ---------------------------------------------------------------------------------------------- data and app


def test_the_folders_are_the_arguments_after_the_double_dash():
    assert folders_from_argv(["app.py", "--", "a", "b/c"]) == [Path("a"), Path("b/c")]
    assert folders_from_argv(["app.py", "a"]) == [Path("a")]
    assert folders_from_argv(["app.py"]) == []


def test_no_pages_folder_lies_beside_the_app_script():
    """Streamlit would take it for a multipage app of its own: a fresh server's first request to /leaderboard ran
    pages/leaderboard.py as a script, a blank page. The pages' modules are in screens/."""
    app = ROOT / "evalharness" / "ui" / "app.py"
    assert not (app.parent / "pages").exists() and (app.parent / "screens" / "leaderboard.py").exists()


def test_a_cells_name_is_the_runs_label():
    assert cell_label("mt", {}) == "mt"
    assert cell_label("mt", {"seed": np.int64(1), "temperature": 0.5, "prompt": "p"}) == (
        'mt [seed=1, temperature=0.5, prompt="p"]'
    )
    assert cell_label("copy", {"seed": pd.NA}) == "copy"


def test_a_loaded_folder_has_its_segments_named_by_cell_and_its_reports():
    folder = load_folder(SEEDS)
    assert set(folder.segments["cell"]) == {"gemma-270m", "copy-source"}
    assert list(folder.alignments) == ["seeds-de-en.tsv"]
    assert list(folder.cleaning) == ["seeds-de-en.txt", "seeds-zh-origin.txt"]
    assert set(folder.analysis) == {"length", "frequency", "ngrams"}
    assert folder.pairwise is not None and set(folder.pairwise["cell_a"]) == {"gemma-270m"}


def test_a_loaded_folder_has_its_config():
    assert load_folder(SEEDS).config["run_name"] == "seeds"


def test_a_folder_from_before_the_hashes_without_its_config_loads_with_none(tmp_path):
    folder = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]  # an earlier evalharness: nothing says config.yaml belongs to the folder
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "config.yaml").unlink()
    assert load_folder(folder).config == {}


def test_the_same_folder_twice_is_loaded_once_with_a_message(tmp_path):
    folders, errors = load_all([SEEDS, SEEDS])
    assert [f.name for f in folders] == ["seeds"]
    assert errors == [f"{SEEDS}: the same results folder is given twice (shown once)"]


def test_folders_of_the_same_name_are_named_by_their_path(tmp_path):
    other = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    folders, errors = load_all([SEEDS, other])
    assert not errors and [f.name for f in folders] == [str(SEEDS), str(other)]


def test_a_segments_file_that_is_not_json_is_a_message_naming_its_line(tmp_path):
    folder = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    with open(folder / "segments.jsonl", "a", encoding="utf-8") as handle:
        handle.write("{cut off\n")
    with pytest.raises(UserError, match=r"segments\.jsonl:77: not valid JSON"):
        read_segments_frame(folder)


def lists(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its list cells (pyarrow's arrays) as lists."""
    return frame.map(lambda v: list(v) if isinstance(v, (list, np.ndarray)) else v)


def test_the_fast_segment_reader_reads_what_the_one_reader_reads(monkeypatch):
    fast = read_segments_frame(SEEDS)
    monkeypatch.setattr("evalharness.ui.data._arrow_segments", lambda path: None)
    pd.testing.assert_frame_equal(lists(fast), lists(read_segments_frame(SEEDS)))


def test_segments_are_read_when_a_page_first_needs_them():
    folder = load_folder(SEEDS)
    assert folder._segments is None
    assert len(folder.segments) == 76 and folder.segments is folder.segments


@pytest.mark.parametrize(
    ("options", "tail"),
    [
        ({}, []),
        ({"src": "s.de", "langpair": "de-en", "paired": True}, ["--src", "s.de", "--langpair", "de-en", "--paired-bs"]),
    ],
)
def test_score_files_calls_the_score_command_with_named_systems(options, tail):
    argv = score_argv([Path("r.en")], [("a", Path("h.en"))], ["bleu", "ter"], **options)
    assert argv == ["score", "--ref", "r.en", "--hyp", "a=h.en", "--metrics", "bleu", "ter", "-f", "csv", *tail]

"""The results folder's schema is declared once (`evalharness.results.schema`) and a folder the run wrote matches
it; every reader of a folder (the API's `load`, `evalharness table`, `evalharness report`, the leaderboard) goes
through the one reader, `evalharness.results.read`."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from evalharness import api, cli
from evalharness.reporting import leaderboard, report
from evalharness.results import read as reader
from evalharness.results.frames import segment_record
from evalharness.results.read import read_csv, read_folder
from evalharness.results.schema import (
    ANALYSIS_FILES,
    CONFIG_FILE,
    MANIFEST_KEYS,
    PAIRWISE_FILE,
    RUN_KEYS,
    SCORES_FILE,
    SEGMENT_DTYPES,
    SEGMENT_RECORD_KEYS,
    SEGMENTS_FILE,
    SUMMARY_FILE,
    SUMMARY_MD,
    SUMMARY_TEX,
    TIDY_COLUMNS,
    dtype_of,
    pairwise_columns,
    segments_frame,
    sweep_columns,
    typed,
)

from conftest import ROOT

SEEDS = ROOT / "results" / "seeds"  # the committed results of the main job, written by the current code


def declared_dtypes(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's declared dtype; a swept setting (typed by its values) is left out."""
    settings = set(sweep_columns(frame)) if {"system", "level"} <= set(frame.columns) else set()
    return {str(c): str(dtype_of(str(c), frame)) for c in frame.columns if c not in settings}


def assert_matches_schema(frame: pd.DataFrame, where: str) -> None:
    declared = declared_dtypes(frame)
    undeclared = [c for c, dtype in declared.items() if dtype == "None"]
    assert not undeclared, f"{where}: columns the schema does not declare: {undeclared}"
    typed_frame = typed(frame)
    actual = {c: str(typed_frame[c].dtype) for c in declared}
    assert actual == declared, where


@pytest.fixture(scope="module")
def seeds():
    return read_folder(SEEDS)


def test_scores_csv_has_the_declared_columns_in_order(seeds):
    settings = sweep_columns(seeds.scores)
    assert [c for c in seeds.scores.columns if c not in settings] == TIDY_COLUMNS


def test_every_column_of_scores_csv_is_declared_with_its_dtype(seeds):
    assert_matches_schema(seeds.scores, SCORES_FILE)


def test_every_column_of_summary_csv_is_declared_with_its_dtype(seeds):
    assert_matches_schema(seeds.summary, SUMMARY_FILE)


def test_every_metric_of_the_run_has_a_float_score_column_in_the_summary(seeds):
    for metric in dict.fromkeys(seeds.scores["metric"]):
        assert dtype_of(metric, seeds.summary) == "float64"
        assert typed(seeds.summary)[metric].dtype == "float64"


def test_pairwise_csv_has_the_declared_columns_and_dtypes(seeds):
    pairwise = read_csv(SEEDS / PAIRWISE_FILE)
    assert list(pairwise.columns) == pairwise_columns(sweep_columns(seeds.scores))
    assert_matches_schema(pairwise, PAIRWISE_FILE)


def test_every_segments_jsonl_record_has_the_declared_keys_in_order(seeds):
    assert seeds.segments
    for record in seeds.segments:
        assert list(record) == SEGMENT_RECORD_KEYS


def test_the_segments_frame_has_the_declared_dtypes(seeds):
    frame = segments_frame(seeds.segments)
    assert {c: str(frame[c].dtype) for c in SEGMENT_DTYPES} == SEGMENT_DTYPES
    for metric in dict.fromkeys(seeds.scores["metric"]):
        assert frame[metric].dtype == "float64"


def test_segment_record_writes_the_line_the_run_wrote():
    """Byte for byte: the committed segments.jsonl, each record built again from its named parts."""
    lines = (SEEDS / SEGMENTS_FILE).read_text(encoding="utf-8").splitlines()
    for line in lines:
        parts = json.loads(line)
        assert json.dumps(segment_record(**parts), ensure_ascii=False) == line


def test_segment_record_takes_only_named_arguments():
    with pytest.raises(TypeError):
        segment_record("news", "mt")  # type: ignore[misc]


def test_the_manifest_has_only_declared_entries_and_lists_the_declared_files(seeds):
    assert set(seeds.manifest) <= set(MANIFEST_KEYS)
    assert not set(seeds.manifest) & set(RUN_KEYS)  # those go to run.json
    declared = [SCORES_FILE, SUMMARY_FILE, SUMMARY_MD, SUMMARY_TEX, SEGMENTS_FILE, CONFIG_FILE, PAIRWISE_FILE]
    assert set(declared) <= set(seeds.manifest["files"])
    assert set(seeds.analysis) <= set(ANALYSIS_FILES.values())
    assert set(seeds.analysis) == {p for p in ANALYSIS_FILES.values() if (SEEDS / p).exists()}


def test_the_api_frames_are_the_reader_frames_with_the_declared_dtypes(seeds):
    loaded = api.load(SEEDS)
    pd.testing.assert_frame_equal(loaded.scores, typed(seeds.scores))
    pd.testing.assert_frame_equal(loaded.summary, typed(seeds.summary))
    pd.testing.assert_frame_equal(loaded.segments, segments_frame(seeds.segments))


# ----------------------------------------------------------------------------------------------- the one reader


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The paths the one reader reads CSV files from, as they are read."""
    seen: list[Path] = []

    def recording(path: Path) -> pd.DataFrame:
        seen.append(Path(path))
        return read_csv(path)

    monkeypatch.setattr(reader, "read_csv", recording)
    return seen


def test_the_api_load_goes_through_the_reader(reads):
    api.load(SEEDS)
    assert SEEDS / SCORES_FILE in reads and SEEDS / SUMMARY_FILE in reads


def test_evalharness_table_goes_through_the_reader(reads, capsys):
    assert cli.main(["table", str(SEEDS)]) == 0
    assert reads == [SEEDS / SCORES_FILE]
    assert "gemma-270m" in capsys.readouterr().out


def test_the_leaderboard_goes_through_the_reader(reads, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(SEEDS, other)
    leaderboard.table([SEEDS, other])
    assert reads == [SEEDS / SCORES_FILE, other / SCORES_FILE]


def test_evalharness_report_goes_through_the_reader(reads, tmp_path, monkeypatch):
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    monkeypatch.setattr(report, "report_files", lambda data: {})  # the page is not what is tested here
    assert cli.main(["report", str(folder)]) == 0
    assert folder / SCORES_FILE in reads and folder / SUMMARY_FILE in reads


READING_MODULES = ["api.py", "cli.py", "reporting/report.py", "reporting/leaderboard.py"]


@pytest.mark.parametrize("module", READING_MODULES)
def test_no_reader_of_the_folder_has_its_own_csv_or_manifest_reading(module):
    """They call the one reader (read_folder, read_scores), never pandas' read_csv, check_whole or read_csv."""
    tree = ast.parse((ROOT / "evalharness" / module).read_text(encoding="utf-8"))
    called = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not called & {"read_csv", "check_whole", "read_segments"}

"""Human score inputs for the meta-evaluation: WMT's ad-sys-scores file, a plain system,score CSV, segment-level
TSV/JSONL files (DA, MQM, ESA), their config keys, and a one-line error naming file and line for every bad input."""

from __future__ import annotations

import json

import pytest
from evalharness.config import config_from_dict
from evalharness.datasets import load_dataset
from evalharness.datasets.humanscores import (
    load_human_scores,
    parse_ranking,
    parse_segment_scores,
    parse_sys_scores,
    parse_system_csv,
)
from evalharness.errors import UserError

from conftest import wmt22_path


def sys_scores(pair: str):
    return wmt22_path("humaneval", f"ad-sys-scores-{pair}.csv")


def ranking(pair: str):
    return wmt22_path("humaneval", f"ad-sys-ranking-{pair}-z-names.csv")


def one_line_error(call, *args, **kwargs) -> str:
    with pytest.raises(UserError) as err:
        call(*args, **kwargs)
    text = str(err.value)
    assert "\n" not in text
    return text


# ------------------------------------------------------------------------------------ WMT ad-sys-scores


@pytest.mark.parametrize("pair", ["de-en", "zh-en"])
def test_sys_scores_file_gives_the_ranking_files_systems_and_scores(pair):
    """The same judgments as the ranking file: names without WMT's .N suffix, the z and raw means at full
    precision (the ranking file rounds them to 3 and 1 decimals), the same N."""
    full = {e.name: e for e in parse_sys_scores(sys_scores(pair)) if not e.is_human}
    rounded = {e.name: e for e in parse_ranking(ranking(pair)) if not e.is_human}
    assert sorted(full) == sorted(rounded)
    for name, entry in full.items():
        assert entry.z == pytest.approx(rounded[name].z, abs=5e-4)
        assert entry.raw == pytest.approx(rounded[name].raw, abs=0.05)
        assert (entry.n_judged, entry.n_all, entry.system_id) == (
            rounded[name].n_judged,
            rounded[name].n_all,
            rounded[name].system_id,
        )


def test_sys_scores_maps_ids_to_submission_names():
    entries = {e.system_id: e for e in parse_sys_scores(sys_scores("de-en"))}
    assert entries["Online-W.2"].name == "Online-W" and entries["Online-W.2"].z == -0.0227822173156801
    # reference B keeps its id (the de-en ranking file alone calls it HUMAN); it is a human row either way
    assert entries["HUMAN-B"].name == "HUMAN-B" and entries["HUMAN-B"].is_human
    zh = {e.name: e for e in parse_sys_scores(sys_scores("zh-en"))}
    assert zh["HUMAN-B"].system_id == "HUMAN-B.12" and zh["HUMAN-B"].is_human


@pytest.mark.parametrize(
    "lines,line,message",
    [
        (["RAW.SCR,Z.SCR,N,SYS,N.ALL"], 1, "expected the header 'RAW.SCR Z.SCR N SYS N.ALL'"),
        (["RAW.SCR Z.SCR N SYS N.ALL", "66.5 -0.08 1656 Online-Y.3"], 2, "expected 5 space-separated fields"),
        (["RAW.SCR Z.SCR N SYS N.ALL", "66.5 high 1656 Online-Y.3 2052"], 2, "Z.SCR is not a number: 'high'"),
        (["RAW.SCR Z.SCR N SYS N.ALL", "66.5 -0.08 16.5 Online-Y.3 2052"], 2, "N is not an integer"),
        (["RAW.SCR Z.SCR N SYS N.ALL", "66.5 inf 1656 Online-Y.3 2052"], 2, "Z.SCR is not a finite number"),
        (
            ["RAW.SCR Z.SCR N SYS N.ALL", "66.5 -0.08 1656 Online-Y.3 2052", "66.5 -0.08 1656 Online-Y.4 2052"],
            3,
            "system 'Online-Y' appears twice (also line 2)",
        ),
    ],
)
def test_malformed_sys_scores_file_is_one_line_error_with_file_and_line(tmp_path, lines, line, message):
    path = tmp_path / "ad-sys-scores.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = one_line_error(parse_sys_scores, path)
    assert text.startswith(f"{path}:{line}: ") and message in text


def test_sys_scores_file_without_rows_is_refused(tmp_path):
    path = tmp_path / "ad-sys-scores.csv"
    path.write_text("RAW.SCR Z.SCR N SYS N.ALL\n", encoding="utf-8")
    assert one_line_error(parse_sys_scores, path) == f"{path}: no system scores"


# ------------------------------------------------------------------------------------------ system,score CSV


def test_system_csv_reads_names_and_scores(tmp_path):
    path = tmp_path / "human.csv"
    path.write_text('system,score\nmt-a,0.5\n"mt, b",-1.25\n\n', encoding="utf-8")
    assert parse_system_csv(path) == {"mt-a": 0.5, "mt, b": -1.25}


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("name,score\na,1\n", 1, "expected the header 'system,score'"),
        ("system,score\na,1,2\n", 2, "expected 2 comma-separated fields"),
        ("system,score\na,good\n", 2, "score is not a number: 'good'"),
        ("system,score\n,1\n", 2, "empty system name"),
        ("system,score\na,1\nb,2\na,3\n", 4, "system 'a' appears twice (also line 2)"),
    ],
)
def test_malformed_system_csv_is_one_line_error_with_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "human.csv"
    path.write_text(text, encoding="utf-8")
    got = one_line_error(parse_system_csv, path)
    assert got.startswith(f"{path}:{line}: ") and message in got


# --------------------------------------------------------------------------------------- segment-level files


def test_segment_tsv_numbers_segments_from_one(tmp_path):
    path = tmp_path / "da.tsv"
    path.write_text("system\tsegment\tscore\na\t1\t70\na\t3\t20.5\nb\t2\t-3\n", encoding="utf-8")
    assert parse_segment_scores(path, n_segments=3) == {"a": {0: 70.0, 2: 20.5}, "b": {1: -3.0}}


def test_segment_jsonl_reads_the_same_as_tsv(tmp_path):
    path = tmp_path / "mqm.jsonl"
    records = [{"system": "a", "segment": 1, "score": 70}, {"system": "b", "segment": "2", "score": -3}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert parse_segment_scores(path) == {"a": {0: 70.0}, "b": {1: -3.0}}


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("system,segment,score\n", 1, "expected the header 'system<TAB>segment<TAB>score'"),
        ("system\tsegment\tscore\na\t1\n", 2, "expected 3 tab-separated fields"),
        ("system\tsegment\tscore\na\t0\t1\n", 2, "segment is not a positive integer (the 1-based segment number)"),
        ("system\tsegment\tscore\na\tseg-1\t1\n", 2, "segment is not a positive integer"),
        ("system\tsegment\tscore\na\t4\t1\n", 2, "segment 4 is past the dataset's last segment (3)"),
        ("system\tsegment\tscore\na\t1\tnan\n", 2, "score is not a finite number"),
        ("system\tsegment\tscore\na\t1\t1\na\t1\t2\n", 3, "system 'a' segment 1 appears twice"),
    ],
)
def test_malformed_segment_tsv_is_one_line_error_with_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "da.tsv"
    path.write_text(text, encoding="utf-8")
    got = one_line_error(parse_segment_scores, path, n_segments=3)
    assert got.startswith(f"{path}:{line}: ") and message in got


def test_segment_score_that_is_no_number_names_no_other_files_fields(tmp_path):
    """The ranking file's six fields are its own: a segment file's message ends at the value."""
    path = tmp_path / "da.tsv"
    path.write_text("system\tsegment\tscore\na\t1\tzz\n", encoding="utf-8")
    assert one_line_error(parse_segment_scores, path) == f"{path}:2: score is not a number: 'zz'"


@pytest.mark.parametrize(
    "line,message",
    [
        ("{not json", "not JSON"),
        ('{"system": "a", "score": 1}', "expected an object with the keys system, segment, score"),
        ('{"system": "a", "segment": true, "score": 1}', "segment is not a positive integer"),
        ('{"system": 3, "segment": 1, "score": 1}', "system is not a non-empty text"),
        ('{"system": "a", "segment": 1, "score": [1]}', "score is not a number"),
    ],
)
def test_malformed_segment_jsonl_is_one_line_error_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "esa.jsonl"
    path.write_text('{"system": "a", "segment": 2, "score": 1}\n' + line + "\n", encoding="utf-8")
    got = one_line_error(parse_segment_scores, path)
    assert got.startswith(f"{path}:2: ") and message in got


def test_segment_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "da.csv"
    path.write_text("system,segment,score\n", encoding="utf-8")
    assert "must be a .tsv or .jsonl file" in one_line_error(parse_segment_scores, path)


# ---------------------------------------------------------------------------------------------- config keys

SOURCE = wmt22_path("sources", "generaltest2022.de-en.src.de")
REFERENCE = wmt22_path("references", "generaltest2022.de-en.ref.A.en")


def dataset(tmp_path, **human) -> dict:
    return {
        "name": "d",
        "kind": "parallel",
        "langpair": "de-en",
        "source": str(SOURCE),
        "references": [str(REFERENCE)],
        "max_segments": 4,
        **{k: str(v) if hasattr(v, "suffix") else v for k, v in human.items()},
    }


def loaded(tmp_path, **human):
    systems = [{"name": "c", "engine": "identity"}]
    cfg = config_from_dict({"datasets": [dataset(tmp_path, **human)], "systems": systems, "metrics": ["bleu"]})
    return load_dataset(cfg.config.datasets[0])


def segment_file(tmp_path, rows: list[tuple[str, int, float]]):
    path = tmp_path / "seg.tsv"
    path.write_text("system\tsegment\tscore\n" + "".join(f"{s}\t{i}\t{v}\n" for s, i, v in rows), encoding="utf-8")
    return path


def test_the_ranking_file_key_works_as_before(tmp_path):
    got = loaded(tmp_path, human_scores=ranking("de-en"), human_score="raw")
    assert got.human_scores == load_human_scores(ranking("de-en"), "raw")
    assert got.human.kind == "raw" and got.human.counts["Online-W"] == 1825 and got.human.z["Online-W"] == -0.023


def test_sys_scores_key_gives_the_full_precision_z_means(tmp_path):
    got = loaded(tmp_path, human_sys_scores=sys_scores("de-en"))
    assert got.human_scores["Online-W"] == -0.0227822173156801 and "HUMAN-B" not in got.human_scores
    assert "HUMAN-B" in loaded(tmp_path, human_sys_scores=sys_scores("de-en"), include_human=True).human_scores


def test_system_csv_key_lower_is_better_is_negated(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("system,score\na,2\nb,5\n", encoding="utf-8")
    assert loaded(tmp_path, human_system_csv=path).human_scores == {"a": 2.0, "b": 5.0}
    lower = loaded(tmp_path, human_system_csv=path, human_direction="lower")
    assert lower.human_scores == {"a": -2.0, "b": -5.0} and lower.human.kind == "score (negated)"


def test_segment_scores_alone_give_system_means_within_max_segments(tmp_path):
    """max_segments 4: segment 9 is dropped with the segment itself; a system's score is its segments' mean."""
    path = segment_file(tmp_path, [("a", 1, 10), ("a", 2, 30), ("a", 9, 100), ("b", 4, 5)])
    got = loaded(tmp_path, human_segment_scores=path, human_segment_kind="esa")
    assert got.human_scores == {"a": 20.0, "b": 5.0}
    assert got.human.segments == {"a": {0: 10.0, 1: 30.0}, "b": {3: 5.0}} and got.human.kind == "esa"


def test_mqm_penalties_are_negated(tmp_path):
    path = segment_file(tmp_path, [("a", 1, 5), ("b", 1, 0)])
    got = loaded(tmp_path, human_segment_scores=path, human_segment_kind="mqm", human_direction="lower")
    assert got.human.segments == {"a": {0: -5.0}, "b": {0: -0.0}} and got.human.segment_kind == "mqm (negated)"


def test_segment_scores_beside_a_system_file_keep_the_system_scores(tmp_path):
    path = segment_file(tmp_path, [("Online-W", 1, 10)])
    got = loaded(tmp_path, human_sys_scores=sys_scores("de-en"), human_segment_scores=path)
    assert got.human_scores["Online-W"] == -0.0227822173156801 and got.human.segments == {"Online-W": {0: 10.0}}


@pytest.mark.parametrize(
    "keys,message",
    [
        ({"human_scores": "R", "human_sys_scores": "S"}, "give one system-level human score file"),
        ({"human_system_csv": "C", "human_score": "raw"}, "human_score (z or raw) is for the WMT DA files"),
        ({"human_segment_scores": "T", "human_segment_kind": "mqm"}, "human_segment_kind mqm needs human_direction"),
        ({"human_scores": "R", "human_direction": "lower"}, "human_direction is for human_system_csv and"),
        ({"human_segment_kind": "esa"}, "human_segment_kind needs human_segment_scores"),
        ({"human_segment_kind": "likert", "human_segment_scores": "T"}, "human_segment_kind"),
    ],
)
def test_conflicting_human_keys_are_one_line_errors(tmp_path, keys, message):
    files = {"R": ranking("de-en"), "S": sys_scores("de-en"), "T": segment_file(tmp_path, [("a", 1, 1)])}
    files["C"] = tmp_path / "h.csv"
    files["C"].write_text("system,score\na,1\n", encoding="utf-8")
    human = {k: files.get(v, v) for k, v in keys.items()}
    assert message in one_line_error(loaded, tmp_path, **human)


def test_results_config_lists_the_new_keys_only_when_set(tmp_path):
    """A results folder's config.yaml of a config without them keeps its bytes (results/seeds is committed)."""
    from evalharness.provenance import resolved_config

    systems = [{"name": "c", "engine": "identity"}]
    plain = config_from_dict({"datasets": [dataset(tmp_path)], "systems": systems, "metrics": ["bleu"]})
    text = resolved_config(plain, tmp_path)
    assert "human_scores: null" in text and "human_sys_scores" not in text and "human_segment_kind" not in text
    path = segment_file(tmp_path, [("a", 1, 1)])
    keyed = dataset(tmp_path, human_segment_scores=path, human_segment_kind="esa")
    text = resolved_config(config_from_dict({"datasets": [keyed], "systems": systems, "metrics": ["bleu"]}), tmp_path)
    assert "human_segment_scores: seg.tsv" in text and "human_segment_kind: esa" in text

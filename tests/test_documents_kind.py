"""The `documents` and `roundtrip` dataset kinds on the user's seeds, through the real CLI."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from conftest import ROOT, error_lines, run_cli_here

SEEDS = ROOT / "seeds"
DE = SEEDS / "001_0514927ce4e6f420.txt"
EN = SEEDS / "000_8df786b110c59768.txt"
ZH_ORIGIN = SEEDS / "003_8db23b3b291dbe9c.txt"

CONFIG = f"""
datasets:
  - {{name: de-en, kind: documents, langpair: de-en, source: "{DE}", reference: "{EN}"}}
  - {{name: rt, kind: roundtrip, path: "{ZH_ORIGIN}", lang: en, pivot: zh}}
systems:
  - {{name: copy, engine: identity}}
metrics: [bleu, chrf]
"""


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    (folder / "docs.yaml").write_text(CONFIG, encoding="utf-8")
    run_cli_here("run", folder / "docs.yaml", "--output-dir", folder / "results", check=True)
    return folder / "results" / "docs"


def test_alignment_file_has_the_documented_columns_and_every_sentence_once(copy_run):
    with open(copy_run / "alignments" / "de-en.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == ["source_ids", "reference_ids", "source", "reference", "score"]
    src_ids = [int(i) for r in rows for i in r["source_ids"].split(",") if i]
    ref_ids = [int(i) for r in rows for i in r["reference_ids"].split(",") if i]
    assert src_ids == list(range(1, len(src_ids) + 1)) and ref_ids == list(range(1, len(ref_ids) + 1))


def test_german_headline_is_linked_to_nothing(copy_run):
    with open(copy_run / "alignments" / "de-en.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    headline = next(r for r in rows if r["source_ids"] == "1")
    assert headline["reference_ids"] == "" and headline["source"].startswith("Seoul plant")


def test_dropped_boilerplate_is_listed_in_the_cleaning_report(copy_run):
    report = (copy_run / "cleaning" / "de-en.txt").read_text(encoding="utf-8")
    assert "READ MORE" in report and "punctuation_only" in report


def test_segment_and_document_rows_with_unaligned_counts(copy_run):
    scores = pd.read_csv(copy_run / "scores.csv")
    rows = scores[scores.dataset == "de-en"]
    assert set(rows.level) == {"segment", "document"}
    assert set(rows[rows.level == "document"].n_segments) == {1}
    assert set(rows.unaligned_sources) == {1} and set(rows.unaligned_references) == {1}


def test_copy_round_trip_is_marked_invalid(copy_run):
    summary = pd.read_csv(copy_run / "summary.csv")
    rt = summary[summary.dataset == "rt"]
    assert set(rt.pivot_on_target_rate) == {0.0}
    assert not rt.valid.any()
    on_target = rt[rt.level == "segment, pivot on target"]
    assert on_target.BLEU.isna().all()  # no segment's pivot is Chinese: nothing to score


def test_round_trip_keeps_the_pivot_texts(copy_run):
    records = [json.loads(line) for line in (copy_run / "segments.jsonl").read_text().splitlines()]
    rt = [r for r in records if r["dataset"] == "rt"]
    assert rt and all(r["pivot"] == r["source"] for r in rt)  # the copy "translates" into English


def test_round_trip_needs_a_system_that_translates(tmp_path):
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("x\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        f"""
datasets:
  - {{name: rt, kind: roundtrip, path: "{ZH_ORIGIN}", lang: en, pivot: zh}}
systems:
  - {{name: fixed, engine: outputs, path: "{hyp}"}}
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", tmp_path / "c.yaml", "--output-dir", tmp_path / "results")
    assert proc.returncode == 2 and "cannot translate" in proc.stderr
    assert len(error_lines(proc.stderr)) == 1 and not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"", "file is empty"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"Gr\xfc\xdfe aus Berlin.\n", "invalid UTF-8"),
    ],
)
def test_bad_source_document_is_one_clear_error(tmp_path, content, expected):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    (tmp_path / "c.yaml").write_text(
        f"""
datasets:
  - {{name: d, kind: documents, langpair: de-en, source: "{bad}", reference: "{EN}"}}
systems:
  - {{name: copy, engine: identity}}
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", tmp_path / "c.yaml", "--output-dir", tmp_path / "results")
    assert proc.returncode == 2 and expected in proc.stderr and "bad.txt" in proc.stderr
    assert len(error_lines(proc.stderr)) == 1 and not (tmp_path / "results").exists()


def test_language_the_splitter_does_not_know_is_one_clear_error(tmp_path):
    (tmp_path / "c.yaml").write_text(
        f"""
datasets:
  - {{name: d, kind: documents, langpair: xx-en, source: "{DE}", reference: "{EN}"}}
systems:
  - {{name: copy, engine: identity}}
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", tmp_path / "c.yaml", "--output-dir", tmp_path / "results")
    assert proc.returncode == 2 and "'xx' is not supported" in proc.stderr
    assert len(error_lines(proc.stderr)) == 1


def test_a_round_trip_is_valid_from_its_datasets_pivot_rate_on():
    """The threshold belongs to the dataset (`valid_pivot_rate`, default 0.5), not to the runner."""
    from evalharness.datasets.base import Dataset, RoundTrip

    def columns(rate: float | None) -> dict:
        extra = {} if rate is None else {"valid_pivot_rate": rate}
        dataset = Dataset(
            name="rt",
            source_lang="en",
            target_lang="en",
            sources=["a"] * 5,
            references=[["a"] * 5],
            reference_names=["a"],
            kind=RoundTrip(pivot_lang="zh", **extra),
        )
        return dataset.kind.columns(["zh", "zh", "en", "en", "en"])

    assert columns(None)["pivot_on_target_rate"] == 0.4 and columns(None)["valid"] is False
    assert columns(0.4)["valid"] is True

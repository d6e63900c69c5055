"""The analyses of a run (analysis/*.csv and the report's Analysis part): scores by source length and by reference
word frequency, the n-grams of baseline vs best, per-document scores, and which segments are shown as differing.
One real run on 40 WMT22 de-en segments (grouped into documents of 8), checked against sacrebleu itself."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
import sacrebleu
from evalharness import api
from evalharness.reporting.analysis import (
    CellData,
    DatasetData,
    compared_pair,
    frequency_rows,
    ngram_rows,
    read_table,
    tokens,
)
from evalharness.reporting.report import differing_segments
from evalharness.textio import read_lines

from conftest import wmt22_path

N = 40
SYSTEMS = ["Online-B", "PROMT", "LT22"]


def hyps(system: str) -> list[str]:
    return read_lines(wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{system}.en"))[:N]


SOURCES = read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))[:N]
REFS = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]
DOCS = [f"doc{i // 8}" for i in range(N)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("analysis")
    data = folder / "de-en.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": d, "src": s, "ref": r}, ensure_ascii=False) + "\n"
            for d, s, r in zip(DOCS, SOURCES, REFS, strict=True)
        ),
        encoding="utf-8",
    )
    for system in SYSTEMS:  # the first N lines: a jsonl dataset has no max_segments
        (folder / f"{system}.en").write_text("\n".join(hyps(system)) + "\n", encoding="utf-8")
    systems = [{"name": s, "engine": "outputs", "path": str(folder / f"{s}.en")} for s in SYSTEMS]
    config = {
        "run_name": "analysis",
        "datasets": [
            {
                "name": "de-en",
                "kind": "jsonl",
                "langpair": "de-en",
                "path": str(data),
                "source_field": "src",
                "reference_fields": ["ref"],
                "doc_id_field": "id",
            }
        ],
        "systems": [*systems, {"name": "copy-source", "engine": "identity"}],
        "metrics": ["bleu", "chrf"],
        "statistics": {"baseline": "LT22", "bootstrap": 0},
    }
    api.run(config, output_dir=folder / "results")
    return folder / "results" / "analysis"


def table(run_dir: Path, name: str):
    return read_table((run_dir / "analysis" / f"{name}.csv").read_text(encoding="utf-8"))


def test_every_segment_is_in_exactly_one_length_bucket(run_dir):
    length = table(run_dir, "length")
    for system in [*SYSTEMS, "copy-source"]:
        assert length[length["system"] == system]["segments"].sum() == N


def test_a_length_bucket_scores_sacrebleus_corpus_bleu_and_chrf_of_its_segments(run_dir):
    length = table(run_dir, "length")
    row = length[length["system"] == "Online-B"].sort_values("segments").iloc[-1]  # the largest bucket
    low, high = {"<10": (0, 9), "10-19": (10, 19), "20-29": (20, 29)}.get(row["bucket"], (30, 10**6))
    index = [j for j, s in enumerate(SOURCES) if low <= len(tokens(s, "de")) <= high]
    assert len(index) == row["segments"]
    out = hyps("Online-B")
    bucket_hyps, bucket_refs = [out[j] for j in index], [[REFS[j] for j in index]]
    assert row["BLEU"] == pytest.approx(sacrebleu.corpus_bleu(bucket_hyps, bucket_refs).score, abs=1e-9)
    assert row["chrF2"] == pytest.approx(sacrebleu.corpus_chrf(bucket_hyps, bucket_refs).score, abs=1e-9)


def test_each_document_scores_sacrebleus_corpus_bleu_of_its_segments(run_dir):
    documents = table(run_dir, "documents")
    assert sorted(set(documents["doc_id"])) == sorted(set(DOCS))
    row = documents[(documents["system"] == "LT22") & (documents["doc_id"] == "doc2")].iloc[0]
    index = [j for j, d in enumerate(DOCS) if d == "doc2"]
    expected = sacrebleu.corpus_bleu([hyps("LT22")[j] for j in index], [[REFS[j] for j in index]]).score
    assert row["segments"] == len(index) and row["BLEU"] == pytest.approx(expected, abs=1e-9)


def test_no_documents_file_without_document_ids(tmp_path):
    config = {
        "datasets": [
            {
                "name": "plain",
                "kind": "parallel",
                "langpair": "de-en",
                "source": str(wmt22_path("sources", "generaltest2022.de-en.src.de")),
                "references": [str(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))],
                "max_segments": 10,
            }
        ],
        "systems": [{"name": "copy", "engine": "identity"}],
        "metrics": ["chrf"],
        "run_name": "plain",
    }
    api.run(config, output_dir=tmp_path)
    assert (tmp_path / "plain" / "analysis" / "length.csv").exists()
    assert not (tmp_path / "plain" / "analysis" / "documents.csv").exists()


def test_frequency_buckets_count_every_reference_word_for_every_system(run_dir):
    frequency = table(run_dir, "frequency")
    total = sum(len(tokens(r, "en")) for r in REFS)
    per_system = frequency.groupby("system")["reference_words"].sum()
    assert set(per_system) == {total}


def cell(system: str, hypotheses: list[str], chrf: float = 0.0, floor: bool = False) -> CellData:
    return CellData(system, hypotheses, {}, {"chrF2": chrf}, floor=floor)


class ChrF:
    label, direction = "chrF2", "higher"


def dataset(cells: list[CellData], refs: list[str], baseline: str | None = None) -> DatasetData:
    return DatasetData("d", "de", "en", ["x"] * len(refs), [refs], None, [ChrF()], cells, baseline)


def test_a_perfect_system_has_f_measure_one_in_every_bucket():
    refs = ["the cat sat on the mat", "a dog barked at the cat"]
    rows = frequency_rows(dataset([cell("perfect", refs)], refs))
    assert rows and all(r["f_measure"] == 1.0 for r in rows)


def test_ngrams_one_system_matches_and_the_other_does_not():
    refs = ["the cat sat on the mat"]
    data = dataset([cell("base", ["a dog sat on the mat"], 40.0), cell("best", ["the cat sat on a rug"], 50.0)], refs)
    rows = ngram_rows(data)
    best_better = {(r["n"], r["ngram"]) for r in rows if r["better"] == "best"}
    base_better = {(r["n"], r["ngram"]) for r in rows if r["better"] == "base"}
    assert {(1, "cat"), (2, "the cat")} <= best_better and (1, "sat") not in best_better
    assert {(1, "mat"), (2, "the mat")} <= base_better
    assert all(r["baseline"] == "base" and r["best"] == "best" for r in rows)


def test_baseline_and_best_are_compared_and_the_floor_is_never_best():
    cells = [cell("copy", ["x"], 90.0, floor=True), cell("a", ["x"], 40.0), cell("b", ["x"], 60.0), cell("c", ["x"])]
    base, best = compared_pair(dataset(cells, ["x"], baseline="c"))  # type: ignore[misc]
    assert (base.system, best.system) == ("c", "b")
    base, best = compared_pair(dataset(cells, ["x"]))  # type: ignore[misc]
    assert (base.system, best.system) == ("a", "b")  # no baseline configured: the runner-up


def test_the_report_shows_the_analysis(run_dir):
    doc = lxml.html.fromstring((run_dir / "report.html").read_text(encoding="utf-8"))
    heading = doc.get_element_by_id("analysis")
    text = "".join(e.text_content() for e in heading.itersiblings() if e.get("id") != "segments")
    assert "chrF2 by source length" in text and "Word F-measure" in text
    summary = read_table((run_dir / "summary.csv").read_text(encoding="utf-8"))
    best = summary.sort_values("chrF2").iloc[-1]["system"]
    assert f"LT22 vs {best}" in text  # the configured baseline against the best system (by chrF)
    assert "Documents: 5" in text


def record(segment: int, source: str, system: str, chrf: float) -> dict:
    return {
        "system": system,
        "settings": {},
        "segment": segment,
        "source": source,
        "references": ["r"],
        "hypothesis": system,
        "scores": {"chrF2": chrf},
    }


def test_differing_segments_skip_short_and_repeated_sources():
    long = "Die Ware hat unter 20 Euro gekostet."
    sources = {1: "你好", 2: "Danke schön, wirklich sehr nett.", 3: long, 4: "Danke schön, wirklich sehr nett."}
    spreads = {1: 100.0, 2: 90.0, 3: 10.0, 4: 80.0}  # the short and the repeated sources differ most
    records = [record(k, s, sys, spreads[k] if sys == "a" else 0.0) for k, s in sources.items() for sys in "ab"]
    shown = differing_segments(records, {"chrF2": True})
    assert [s["number"] for s in shown["segments"]] == [3]


def test_differing_segments_fall_back_to_all_when_none_is_long_enough():
    records = [record(k, "x", sys, float(k) if sys == "a" else 0.0) for k in (1, 2) for sys in "ab"]
    assert [s["number"] for s in differing_segments(records, {"chrF2": True})["segments"]] == [2, 1]


def test_ngrams_only_one_system_gets_rank_before_frequent_words_both_get():
    refs = ["the cat and the dog"] * 10 + ["the rare word"] * 3
    best_hyps = list(refs)
    base_hyps = ["the cat and a dog"] * 10 + ["a common word"] * 3  # "the" 10 of 23 times, "rare" never
    rows = ngram_rows(dataset([cell("base", base_hyps, 1.0), cell("best", best_hyps, 2.0)], refs))
    unigrams = [r["ngram"] for r in rows if r["n"] == 1 and r["better"] == "best"]
    assert unigrams == ["rare", "the"]  # smoothed shares (3+1)/(3+2) = 0.8 before (23+1)/(33+2) = 0.69

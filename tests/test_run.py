"""`evalharness run` end to end on real WMT22 data: the tables, their columns, and sacrebleu's numbers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sacrebleu
from evalharness.textio import read_lines

from conftest import ROOT, run_cli, wmt22_path

DE_EN_SYSTEMS = 9
ZH_EN_SYSTEMS = 12
# The shipped config scores ~1900 segments per pair; TER on all of zh-en alone takes ~20 CPU-minutes here.
# The tests run the same config on the first N segments of every dataset (through --set, as a user would).
N = 400
DATASETS = ["wmt22-de-en-refA", "wmt22-de-en-refAB", "wmt22-zh-en-refA", "wmt22-zh-en-refAB"]
CUT = [arg for name in DATASETS for arg in ("--set", f"datasets.{name}.max_segments={N}")]


@pytest.fixture(scope="module")
def wmt22_run(tmp_path_factory):
    """configs/wmt22.yaml (first N segments), run twice: cold, then with the score cache warm."""
    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("run-cache")
    env = {"EVALHARNESS_CACHE_DIR": str(cache)}
    first = run_cli("run", ROOT / "configs" / "wmt22.yaml", *CUT, "--output-dir", out, env=env, check=True)
    run_dir = out / "wmt22"
    snapshot = {name: (run_dir / name).read_bytes() for name in ("scores.csv", "summary.csv")}
    second = run_cli("run", ROOT / "configs" / "wmt22.yaml", *CUT, "--output-dir", out, env=env, check=True)
    return run_dir, snapshot, first, second


@pytest.mark.slow
def test_every_submission_is_scored_with_every_metric(wmt22_run):
    run_dir, *_ = wmt22_run
    scores = pd.read_csv(run_dir / "scores.csv")
    for dataset, n in [("wmt22-de-en-refA", DE_EN_SYSTEMS), ("wmt22-zh-en-refAB", ZH_EN_SYSTEMS)]:
        rows = scores[scores.dataset == dataset]
        assert set(rows.metric) == {"BLEU", "chrF2", "chrF2++", "TER"}
        assert rows.system.nunique() == n + 1  # the submissions and the copy-source baseline
    assert len(scores) == (DE_EN_SYSTEMS + 1 + ZH_EN_SYSTEMS + 1) * 2 * 4
    assert set(scores.n_segments) == {N}


@pytest.mark.slow
@pytest.mark.parametrize(
    "pair,system", [("de-en", "Online-B"), ("de-en", "PROMT"), ("zh-en", "HuaweiTSC"), ("zh-en", "Online-Y")]
)
def test_scores_equal_sacrebleu_api_on_the_same_files(wmt22_run, pair, system, sacrebleu_golden):
    """BLEU and chrF by sacrebleu's `corpus_score` on the files; TER by sacrebleu's own aggregation of its own
    statistics of the same segments, stored in the golden file (its pure-Python TER on 400 zh-en segments takes
    about a minute a system; test_golden_stats.py checks the stored statistics against it)."""
    run_dir, *_ = wmt22_run
    scores = pd.read_csv(run_dir / "scores.csv")
    hyps = read_lines(wmt22_path("system-outputs", f"generaltest2022.{pair}.hyp.{system}.en"))[:N]
    ref_a = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.A.en"))[:N]
    ref_b = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.B.en"))[:N]
    for suffix, refs in [("refA", [ref_a]), ("refAB", [ref_a, ref_b])]:
        rows = scores[(scores.dataset == f"wmt22-{pair}-{suffix}") & (scores.system == system)].set_index("metric")
        for label, metric in [
            ("BLEU", sacrebleu.BLEU()),
            ("chrF2", sacrebleu.CHRF()),
            ("chrF2++", sacrebleu.CHRF(word_order=2)),
            ("TER", sacrebleu.TER()),
        ]:
            if label == "TER":
                metric._cache_references(refs)  # corpus_score's first step (the number of references it signs)
                golden = sacrebleu_golden(pair, system, "TER", "A" if suffix == "refA" else "A+B")[:N]
                expected = metric._aggregate_and_compute(golden)  # its last step, on its own statistics
            else:
                expected = metric.corpus_score(hyps, refs)
            assert rows.loc[label, "score"] == expected.score, (suffix, label)
            assert rows.loc[label, "signature"] == metric.get_signature().format()


@pytest.mark.slow
def test_scores_csv_has_the_documented_columns_and_no_paths(wmt22_run):
    run_dir, *_ = wmt22_run
    text = (run_dir / "scores.csv").read_text()
    header = text.splitlines()[0].split(",")
    assert header == [
        "dataset",
        "system",
        "level",
        "metric",
        "score",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "baseline",
        "rank",
        "significantly_worse",
        "delta",
        "delta_ci_low",
        "delta_ci_high",
        "human_agreement",
        "rank_low",
        "rank_high",
        "direction",
        "signature",
        "n_segments",
        "references",
        "langpair",
        "off_target_rate",
        "empty_outputs",
        "unaligned_sources",
        "unaligned_references",
        "pivot_on_target_rate",
        "valid",
    ]
    assert "/" not in text.replace("nrefs", "")  # no machine paths
    scores = pd.read_csv(run_dir / "scores.csv")
    assert set(scores[scores.metric == "TER"].direction) == {"lower"}
    assert set(scores[scores.metric == "BLEU"].references) == {"A", "A+B"}


@pytest.mark.slow
def test_summary_is_wide_with_a_column_per_metric(wmt22_run):
    run_dir, *_ = wmt22_run
    summary = pd.read_csv(run_dir / "summary.csv")
    metric_columns = [c for m in ["BLEU", "chrF2", "chrF2++", "TER"] for c in [m, f"{m} ci_low", f"{m} ci_high"]]
    assert list(summary.columns) == [
        "dataset",
        "system",
        "level",
        *metric_columns,
        "off_target_rate",
        "empty_outputs",
        "unaligned_sources",
        "unaligned_references",
        "pivot_on_target_rate",
        "valid",
    ]
    assert len(summary) == (DE_EN_SYSTEMS + 1 + ZH_EN_SYSTEMS + 1) * 2


@pytest.mark.slow
def test_copy_source_baseline_is_beaten_by_every_submission(wmt22_run):
    run_dir, *_ = wmt22_run
    summary = pd.read_csv(run_dir / "summary.csv")
    for dataset, rows in summary.groupby("dataset"):
        floor = rows[rows.system == "copy-source"].iloc[0]
        others = rows[rows.system != "copy-source"]
        assert (others.BLEU > floor.BLEU).all() and (others.TER < floor.TER).all(), dataset


@pytest.mark.slow
def test_rerun_uses_cached_scores_and_is_byte_identical(wmt22_run):
    run_dir, snapshot, first, second = wmt22_run
    assert "0 hits" in first.stderr
    assert " 0 computed" in second.stderr
    for name, content in snapshot.items():
        assert (run_dir / name).read_bytes() == content, name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert json.loads((run_dir / "run.json").read_text())["score_cache"]["misses"] == 0
    assert manifest["sacrebleu"] == sacrebleu.__version__


@pytest.mark.slow
def test_segments_jsonl_holds_sentence_scores(wmt22_run):
    run_dir, *_ = wmt22_run
    with open(run_dir / "segments.jsonl", encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    assert set(first) >= {"dataset", "system", "segment", "source", "references", "hypothesis", "scores"}
    assert first["scores"]["BLEU"] == sacrebleu.sentence_bleu(first["hypothesis"], first["references"]).score


@pytest.mark.slow
def test_table_command_retabulates_without_recomputing(wmt22_run, tmp_path):
    run_dir, *_ = wmt22_run
    md = run_cli("table", run_dir, "--format", "md", check=True).stdout
    assert "| dataset" in md and "BLEU (higher is better): nrefs:1" in md
    latex = run_cli("table", run_dir, "--format", "latex", check=True).stdout
    assert "\\toprule" in latex and "\\bottomrule" in latex
    csv = run_cli("table", run_dir, "--format", "csv", check=True).stdout
    assert csv == (run_dir / "summary.csv").read_text()


@pytest.mark.slow
def test_copying_the_source_is_reported_as_off_target(wmt22_run):
    run_dir, *_ = wmt22_run
    summary = pd.read_csv(run_dir / "summary.csv")
    copy = summary[summary.system == "copy-source"]
    real = summary[summary.system != "copy-source"]
    assert (copy.off_target_rate > 0.8).all()  # German or Chinese, not English
    assert (real.off_target_rate < 0.05).all()


@pytest.mark.slow
def test_every_corpus_score_has_sacrebleus_bootstrap_interval(wmt22_run):
    run_dir, *_ = wmt22_run
    scores = pd.read_csv(run_dir / "scores.csv")
    row = scores[
        (scores.dataset == "wmt22-de-en-refA") & (scores.system == "Online-B") & (scores.metric == "BLEU")
    ].iloc[0]
    hyps = read_lines(wmt22_path("system-outputs", "generaltest2022.de-en.hyp.Online-B.en"))[:N]
    refs = [read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N]]
    theirs = sacrebleu.BLEU().corpus_score(hyps, refs, n_bootstrap=1000)  # sacrebleu prints mean +- half width
    assert row.ci_low < row.score < row.ci_high
    assert (row.ci_high - row.ci_low) / 2 == pytest.approx(theirs._ci, abs=1e-9)

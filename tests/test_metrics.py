"""Every score is sacrebleu's own: same number, same signature, on real WMT22 data."""

from __future__ import annotations

import pytest
import sacrebleu
from evalharness.metrics import make_metric
from evalharness.metrics.bleu import BleuConfig
from evalharness.metrics.chrf import ChrfConfig
from evalharness.metrics.scoring import score_systems
from evalharness.metrics.ter import TerConfig
from evalharness.textio import read_lines

from conftest import sacrebleu_ter_remembered, wmt22_path

N = 150  # segments: enough for real n-gram statistics, fast enough for TER (test_run checks 400 x 21 systems)


def lines(*parts, n=N):
    return read_lines(wmt22_path(*parts))[:n]


@pytest.fixture(scope="module", autouse=True)
def remembered_ter():
    """sacrebleu's TER of reference A is the same with one reference and with two: computed once."""
    with sacrebleu_ter_remembered():
        yield


@pytest.fixture(scope="module")
def de_en():
    refs = [
        lines("references", "generaltest2022.de-en.ref.A.en"),
        lines("references", "generaltest2022.de-en.ref.B.en"),
    ]
    systems = {
        name: lines("system-outputs", f"generaltest2022.de-en.hyp.{name}.en") for name in ("Online-B", "LT22", "PROMT")
    }
    return refs, systems


CASES = [
    (BleuConfig(name="bleu"), lambda: sacrebleu.BLEU(trg_lang="en")),
    (BleuConfig(name="bleu", lowercase=True, tokenize="intl"), lambda: sacrebleu.BLEU(lowercase=True, tokenize="intl")),
    (ChrfConfig(name="chrf"), lambda: sacrebleu.CHRF()),
    (ChrfConfig(name="chrf++"), lambda: sacrebleu.CHRF(word_order=2)),
    (TerConfig(name="ter"), lambda: sacrebleu.TER()),
    (
        TerConfig(name="ter", case_sensitive=True, normalized=True),
        lambda: sacrebleu.TER(case_sensitive=True, normalized=True),
    ),
]


@pytest.mark.parametrize("n_refs", [1, 2])
@pytest.mark.parametrize("cfg,reference", CASES, ids=[f"{c.name}-{i}" for i, (c, _) in enumerate(CASES)])
def test_corpus_score_and_signature_equal_sacrebleu(de_en, cfg, reference, n_refs):
    refs, systems = de_en
    refs = refs[:n_refs]
    results = score_systems([make_metric(cfg)], "en", refs, systems, workers=2)
    for name, hyps in systems.items():
        ours = results[(name, make_metric(cfg).label)]
        theirs = reference()
        score = theirs.corpus_score(hyps, refs)
        assert ours.score == score.score, name
        assert ours.signature == theirs.get_signature().format()


def test_parallel_and_serial_scoring_agree(de_en):
    refs, systems = de_en
    metric = make_metric(TerConfig(name="ter"))
    serial = score_systems([metric], "en", refs, systems, workers=1)
    parallel = score_systems([metric], "en", refs, systems, workers=2)
    for key in serial:
        assert serial[key].stats == parallel[key].stats


def test_sentence_scores_equal_sacrebleu_sentence_functions(de_en):
    refs, systems = de_en
    hyps = systems["LT22"]
    metrics = [
        make_metric(BleuConfig(name="bleu")),
        make_metric(ChrfConfig(name="chrf")),
        make_metric(TerConfig(name="ter")),
    ]
    results = score_systems(metrics, "en", refs, {"LT22": hyps}, sentence=True)
    for i in range(0, N, 37):
        seg_refs = [stream[i] for stream in refs]
        assert results[("LT22", "BLEU")].sentence_scores[i] == sacrebleu.sentence_bleu(hyps[i], seg_refs).score
        assert results[("LT22", "chrF2")].sentence_scores[i] == sacrebleu.sentence_chrf(hyps[i], seg_refs).score
        assert results[("LT22", "TER")].sentence_scores[i] == sacrebleu.sentence_ter(hyps[i], seg_refs).score


def test_chinese_target_picks_sacrebleu_zh_tokenizer():
    metric = make_metric(BleuConfig(name="bleu"))
    hyp, ref = ["我们今天去北京。"], [["我们明天去北京。"]]
    ours = score_systems([metric], "zh", ref, {"s": hyp})[("s", "BLEU")]
    assert "tok:zh" in ours.signature
    assert ours.score == sacrebleu.BLEU(trg_lang="zh").corpus_score(hyp, ref).score


def test_tokenizer_per_target_language_mapping():
    metric = make_metric(BleuConfig(name="bleu", tokenize={"en": "intl", "default": "char"}))
    assert metric.tokenizer_for("en") == "intl"
    assert metric.tokenizer_for("de") == "char"


def test_ter_is_lower_is_better_and_others_higher():
    assert make_metric(TerConfig(name="ter")).direction == "lower"
    assert make_metric(BleuConfig(name="bleu")).direction == "higher"
    assert make_metric(ChrfConfig(name="chrf")).direction == "higher"


def test_cached_statistics_give_the_same_scores(de_en, tmp_path):
    from evalharness.cache import Store

    refs, systems = de_en
    metrics = [make_metric(BleuConfig(name="bleu")), make_metric(TerConfig(name="ter"))]
    store = Store(tmp_path / "scores.sqlite", "scores")
    first = score_systems(metrics, "en", refs, systems, cache=store)
    second = score_systems(metrics, "en", refs, systems, cache=store)
    assert not any(r.cached for r in first.values())
    assert all(r.cached for r in second.values())
    for key in first:
        assert first[key].score == second[key].score
        assert first[key].signature == second[key].signature

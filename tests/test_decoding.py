"""`systems/decoding.py`, the one place that says what each decoding setting means: the engines' fields, the
sweep's inert settings and the README follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from evalharness.systems import ENGINES, decoding
from evalharness.systems.gemma import GemmaConfig
from evalharness.systems.hf_causal import HFCausalConfig
from pydantic import ValidationError

README = Path(__file__).resolve().parent.parent / "README.md"


def hf_causal(**settings) -> HFCausalConfig:
    return HFCausalConfig.model_validate({"name": "lm", "engine": "hf-causal", "model": "org/model", **settings})


def test_every_engine_declares_a_decoding_setting_with_the_bounds_decoding_gives_it():
    declared = 0
    for name, engine in ENGINES.items():
        for field, info in engine.config_model.model_fields.items():
            if field in decoding.SETTINGS:
                declared += 1
                assert info.metadata == decoding.field(field).metadata, f"engine {name}: {field}"
                assert info.description, f"engine {name}: {field} has no description"
    assert declared >= 40  # hf-causal, hf-seq2seq, llama-cpp, gemma-270m, openai: 10 each; ctranslate2 5


def test_the_bounds_of_a_setting_are_checked_where_it_is_declared():
    with pytest.raises(ValidationError, match="temperature"):
        hf_causal(temperature=0)
    with pytest.raises(ValidationError, match="top_p"):
        hf_causal(top_p=1.5)
    with pytest.raises(ValidationError, match="num_beams"):
        hf_causal(num_beams=True)  # whole numbers are strict: not 1


def test_an_engine_may_give_a_setting_its_own_default():
    assert GemmaConfig.model_validate({"name": "g", "engine": "gemma-270m"}).batch_size == 16
    assert hf_causal().batch_size == decoding.SETTINGS["batch_size"].default == 8


def test_temperature_top_p_and_seed_are_inert_in_greedy_and_beam_search():
    engine = ENGINES["hf-causal"]
    assert set(engine.inert_settings(hf_causal())) == {"temperature", "top_p", "seed"}
    assert set(engine.inert_settings(hf_causal(num_beams=4))) == {"temperature", "top_p", "seed"}
    assert engine.inert_settings(hf_causal(do_sample=True)) == {}


def test_an_override_decoding_does_not_know_is_refused():
    with pytest.raises(TypeError, match="unknown overrides"):
        decoding.field("temperature", ge=0)


def test_the_readme_states_the_defaults_decoding_declares():
    text = " ".join(README.read_text(encoding="utf-8").split())
    for name in ("num_beams", "max_new_tokens", "batch_size", "do_sample"):
        default = decoding.SETTINGS[name].default
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert re.search(rf"`{name}` \({re.escape(shown)}[);]", text), name

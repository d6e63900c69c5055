"""The `llama-cpp` engine's chat path, on tiny GGUF models written by the test (tests/tinygguf.py), offline.

The only real GGUF at hand (Gemma 3 270M base) has no chat template. These models have one (or, on purpose,
none), a SentencePiece vocabulary that llama.cpp and transformers both read from the file, and random weights:
the outputs are garbage, the tests check the prompt, the stop strings and the errors.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from evalharness.errors import UserError
from evalharness.prompts import PromptConfig
from evalharness.systems.context import RunContext
from evalharness.systems.llama_cpp import LlamaCppConfig, LlamaCppSystem
from evalharness.systems.prompted import prompt_text

from conftest import ENGLISH, GERMAN, run_cli, write_three_sentence_run
from tinygguf import write_tiny_gguf

# ChatML, laid out on several lines: the newlines after the block tags disappear only with the whitespace
# settings transformers renders templates with (trim_blocks, lstrip_blocks).
CHATML = """{{ bos_token }}
{%- for message in messages %}
<|im_start|>{{ message['role'] }}
{{ message['content'] }}<|im_end|>
  {% endfor %}
{% if add_generation_prompt %}
<|im_start|>assistant
{% endif %}"""

# Gemma 3's template (text content only): the system message goes into the first user turn, assistant turns
# are `model` turns, contents are trimmed, roles must alternate.
GEMMA = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim -}}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{ '<start_of_turn>model\n' }}
{%- endif -%}"""

# Mistral's (v0.3, without tools): no generation prompt of its own, every assistant turn ends with eos_token.
MISTRAL = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}
            {{- '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST] ' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}"""  # noqa: E501 (Mistral's template, verbatim)

TEMPLATES = {"chatml": CHATML, "gemma": GEMMA, "mistral": MISTRAL}
# How each template's prompt ends: the segment, then the start of the model's turn.
GENERATION_PROMPT = {
    "chatml": "<|im_end|>\n<|im_start|>assistant\n",
    "gemma": "<end_of_turn>\n<start_of_turn>model\n",
    "mistral": "[/INST]",
}

SYSTEM = "You are a careful translator of news."


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Template name -> a tiny GGUF with that chat template (`none`: without one), each in its own folder."""
    return {
        name: write_tiny_gguf(tmp_path_factory.mktemp(f"tiny-{name}") / "tiny.gguf", template)
        for name, template in {**TEMPLATES, "none": None}.items()
    }


@pytest.fixture(scope="module")
def ctx():
    context = RunContext(verbose=False)
    yield context
    context.close()


def tiny(model: Path, **options) -> LlamaCppSystem:
    # One thread: the tiny model needs no more, and threads that spin on a busy machine make it slow.
    cfg = {"name": "tiny", "engine": "llama-cpp", "model": str(model), "n_threads": 1, **options}
    return LlamaCppSystem(LlamaCppConfig.model_validate(cfg))


@functools.cache
def transformers_tokenizer(model: Path):
    """The tokenizer transformers makes of the GGUF file (vocabulary, special tokens, chat template)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model.parent, gguf_file=model.name)


def write_run(folder: Path, system: str) -> Path:
    return write_three_sentence_run(folder, f"  - {system}", metrics="[chrf]")


@pytest.mark.parametrize("system_message", [None, SYSTEM], ids=["no-system", "system"])
@pytest.mark.parametrize("langpair", ["de-en", "en-zh"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_chat_prompt_is_the_one_transformers_renders_from_the_same_template(
    models, ctx, template, langpair, system_message
):
    model = models[template]
    src, tgt = langpair.split("-")
    source = GERMAN[0] if src == "de" else ENGLISH[0]
    system = tiny(model, prompt={"chat": True, "system": system_message})
    ours = prompt_text("tiny", system.cfg.prompt, source, src, tgt, system.chat_renderer(system.load(ctx)[0]))

    hf = transformers_tokenizer(model)
    assert hf.chat_template == TEMPLATES[template]
    messages = PromptConfig(chat=True, system=system_message).render_messages(source, src, tgt)
    assert len(messages) == 7 + (system_message is not None)  # three built-in examples (two turns each) + segment
    assert ours == hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert ours.startswith("<s>") and ours.count("<s>") == 1 and ours.endswith(source + GENERATION_PROMPT[template])
    assert ours.count("</s>") == (3 if template == "mistral" else 0)  # eos_token ends each example answer


@pytest.mark.parametrize("batch_sequences", [1, 8])
def test_chat_prompt_reaches_llama_cpp_as_the_tokens_transformers_would_give(batch_sequences, models, ctx, monkeypatch):
    """One BOS (the template's), chat markers as single special tokens, as hf-causal tokenizes a chat prompt: one
    segment per context (create_completion) and batched (a slot's prompt)."""
    import llama_cpp
    from evalharness.systems.llama_batch import BatchedContext

    prompts = []
    completion, start = llama_cpp.Llama.create_completion, BatchedContext._start

    def spy_completion(self, prompt, *args, **kwargs):
        prompts.append(list(prompt))
        return completion(self, prompt, *args, **kwargs)

    def spy_start(self, slot, job):
        prompts.append(list(job.tokens))
        return start(self, slot, job)

    monkeypatch.setattr(llama_cpp.Llama, "create_completion", spy_completion)
    monkeypatch.setattr(BatchedContext, "_start", spy_start)
    system = tiny(models["chatml"], prompt={"chat": True}, batch_sequences=batch_sequences)
    system.translate_batch(GERMAN[:1], "de", "en", ctx)

    hf = transformers_tokenizer(models["chatml"])
    text = hf.apply_chat_template(
        PromptConfig(chat=True).render_messages(GERMAN[0], "de", "en"), tokenize=False, add_generation_prompt=True
    )
    expected = hf(text, add_special_tokens=False).input_ids
    assert prompts == [expected]
    assert expected.count(hf.bos_token_id) == 1 and expected[0] == hf.bos_token_id
    assert expected.count(hf.convert_tokens_to_ids("<|im_start|>")) == 8


def test_chat_translation_is_one_line_per_source(models, ctx):
    out = tiny(models["chatml"], prompt={"chat": True}).translate_batch(GERMAN, "de", "en", ctx)
    assert len(out) == 3 and all(out)
    assert all("\n" not in line for line in out)
    # Without stop strings the same garbage runs on past a newline: the stop is what ends each line.
    unstopped = tiny(models["chatml"], prompt={"chat": True, "stop": []}).translate_batch(GERMAN, "de", "en", ctx)
    assert all("\n" in line and line.startswith(cut) for line, cut in zip(unstopped, out, strict=True))


def test_chat_model_runs_through_the_command_line(models, tmp_path):
    config = write_run(
        tmp_path, f"{{name: tiny, engine: llama-cpp, model: {models['gemma']}, n_threads: 1, prompt: {{chat: true}}}}"
    )
    run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    manifest = json.loads((tmp_path / "results" / "run" / "run.json").read_text())
    segments = [json.loads(line) for line in (tmp_path / "results" / "run" / "segments.jsonl").read_text().splitlines()]
    hypotheses = [s["hypothesis"] for s in segments if s["system"] == "tiny" and s["level"] == "segment"]
    assert len(hypotheses) == 3 and all(h and "\n" not in h for h in hypotheses)
    cell = manifest["translation"]["cells"][0]
    assert cell["translated"] == 3
    assert cell["runtime"]["backend"] == "llama-cpp"


def test_chat_prompt_on_a_gguf_without_chat_template_is_a_one_line_error(models, tmp_path):
    config = write_run(
        tmp_path, f"{{name: tiny, engine: llama-cpp, model: {models['none']}, n_threads: 1, prompt: {{chat: true}}}}"
    )
    proc = run_cli("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert errors == ["evalharness: error: system tiny: prompt.chat is true but the model has no chat template"]


def test_prompt_and_translation_longer_than_the_context_window_is_a_one_line_error(models, ctx, tmp_path):
    """llama.cpp rounds n_ctx up to 256; the check uses the context it really has."""
    with pytest.raises(
        UserError,
        match=r"system tiny: a prompt of \d+ tokens plus up to \d+ new ones does not fit "
        r"n_ctx 256 \(raise n_ctx\): 'Der Zug nach Berlin",
    ):
        tiny(models["chatml"], n_ctx=64, prompt={"chat": True}).translate_batch(GERMAN[:1], "de", "en", ctx)
    config = write_run(
        tmp_path,
        f"{{name: tiny, engine: llama-cpp, model: {models['chatml']}, n_threads: 1, "
        "n_ctx: 64, prompt: {chat: true}}",
    )
    proc = run_cli("run", config, "--output-dir", tmp_path / "results")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert len(errors) == 1 and errors[0].startswith("evalharness: error: system tiny: a prompt of ")
    assert "does not fit n_ctx 256 (raise n_ctx)" in errors[0]

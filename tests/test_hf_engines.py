"""The transformers engines (hf-seq2seq, hf-causal) on tiny random-weight models built here, offline.

Each model is made by the test (vocabulary trained on WMT22 lines, random weights), saved to a folder and then
named by that folder in a config, which is the code path of a hub model. Random weights translate into garbage:
the tests check the plumbing (tables, translation cache, sweeps, prompts, language codes, lazy imports), not
translation quality.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from evalharness import langcodes
from evalharness.errors import UserError
from evalharness.prompts import EXAMPLE_ROWS, PromptConfig
from evalharness.textio import read_lines

from conftest import run_cli_here, wmt22_path

# Six segments, five distinct: the first source comes again at the end.
SEGMENTS = [0, 1, 2, 4, 5, 0]
UNIQUE = len(set(SEGMENTS))
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def training_lines(n: int = 300) -> list[str]:
    """German sources and English references, to train the tiny vocabularies on."""
    src = read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))[:n]
    ref = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:n]
    return src + ref


# ---------------------------------------------------------------- tiny models


@pytest.fixture(scope="session")
def marian_model(tmp_path_factory) -> Path:
    """A Marian model: SentencePiece vocabulary trained here (source.spm, target.spm, vocab.json), random weights
    (large enough that different sources get different outputs)."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = tmp_path_factory.mktemp("marian-build")
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_lines()),
        model_writer=proto,
        vocab_size=400,
        model_type="unigram",
        character_coverage=1.0,
        unk_id=0,
        eos_id=1,
        bos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    for name in ("source.spm", "target.spm"):
        (work / name).write_bytes(proto.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    vocab: dict[str, int] = {}
    for piece in ["<pad>", "</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(sp.get_piece_size())]:
        vocab.setdefault(piece, len(vocab))
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(work / "source.spm"), target_spm=str(work / "target.spm"), vocab=str(work / "vocab.json")
    )
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=512,
        init_std=1.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-marian")
    tokenizer.save_pretrained(folder)
    MarianMTModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def causal_model(tmp_path_factory) -> Path:
    """A Phi-architecture causal LM: byte-level BPE trained here, a chat template, random weights.

    The LM head's bias makes a newline likely now and then (so the stop at the first newline has work to do)
    and the end-of-sequence token impossible (so the outputs are not empty by chance).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PhiConfig, PhiForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        training_lines(),
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<pad>", "</s>", "<s>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = PhiConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.3,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = PhiForCausalLM(config)
    newline = tokenizer.convert_tokens_to_ids("Ċ")  # byte-level spelling of "\n"
    assert tokenizer.decode([newline]) == "\n"
    with torch.no_grad():
        model.lm_head.bias.zero_()
        model.lm_head.bias[newline] = 2.0
        model.lm_head.bias[tokenizer.eos_token_id] = -30.0
    folder = tmp_path_factory.mktemp("tiny-causal")
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def nllb_model(tmp_path_factory) -> Path:
    """An NLLB-200-style model: the real NllbTokenizer (all 200 language-code tokens) over a character
    vocabulary, and a random M2M100 network, as facebook/nllb-200-* ships."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for char in sorted(set("".join(training_lines())) - {" "}):
        vocab.setdefault(char, len(vocab))
    tokenizer = NllbTokenizer(vocab=vocab, merges=[])
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=512,
        init_std=1.0,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    folder = tmp_path_factory.mktemp("tiny-nllb")
    tokenizer.save_pretrained(folder)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- configs and runs


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Six WMT22 de-en segments (five distinct sources) with reference A."""
    folder = tmp_path_factory.mktemp("data")
    src = read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))
    ref = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))
    (folder / "src.de").write_text("".join(src[i] + "\n" for i in SEGMENTS), encoding="utf-8")
    (folder / "ref.en").write_text("".join(ref[i] + "\n" for i in SEGMENTS), encoding="utf-8")
    return folder


def write_config(folder: Path, data: Path, systems: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exp.yaml"
    path.write_text(
        f"""
datasets:
  - {{name: news, kind: parallel, langpair: de-en, source: "{data / "src.de"}", references: ["{data / "ref.en"}"]}}
systems:
{systems}
metrics: [bleu, chrf]
workers: 1
{extra}""",
        encoding="utf-8",
    )
    return path


def marian_system(model: Path, extra: str = "", name: str = "marian", max_new_tokens: int = 12) -> str:
    return f'  - {{name: {name}, engine: hf-seq2seq, model: "{model}", max_new_tokens: {max_new_tokens}{extra}}}'


def causal_system(name: str, model: Path, extra: str = "") -> str:
    return f'  - {{name: {name}, engine: hf-causal, model: "{model}", max_new_tokens: 24{extra}}}'


def run_env(cache: Path) -> dict[str, str]:
    # One thread: these models are tiny, and torch's threads spin against any other load on the machine.
    return {"EVALHARNESS_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}


def run(config: Path, out: Path, cache: Path, *args: str) -> Path:
    """`evalharness run` (in this process) with its own translation cache folder; returns the run's results folder."""
    run_cli_here("run", config, "--output-dir", out, *args, env=run_env(cache), check=True)
    return out / config.stem


PROBE = """import json, sys
from evalharness.cli import main
rc = main(sys.argv[1:])
print(json.dumps({m: m in sys.modules for m in ("torch", "transformers")}))
sys.exit(rc)
"""


def run_probed(config: Path, out: Path, cache: Path, *args: str) -> tuple[Path, dict]:
    """`evalharness run` in a fresh interpreter that reports afterwards whether it imported torch/transformers."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "run", str(config), "--output-dir", str(out), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **run_env(cache)},
    )
    assert proc.returncode == 0, proc.stderr
    return out / config.stem, json.loads(proc.stdout.strip().splitlines()[-1])


def manifest(run_dir: Path) -> dict:
    """manifest.json with run.json (the run's translation counts and times)."""
    return {
        **json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")),
        **json.loads((run_dir / "run.json").read_text(encoding="utf-8")),
    }


def cells(run_dir: Path) -> dict[str, dict]:
    """Per system: segments translated and taken from the cache."""
    return {c["system"]: c for c in manifest(run_dir)["translation"]["cells"]}


def hypotheses(run_dir: Path, system: str | None = None) -> list[str]:
    records = [json.loads(line) for line in (run_dir / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["hypothesis"] for r in records if system is None or r["system"] == system]


def copy_cache(cache: Path, tmp_path: Path) -> Path:
    """A private copy of a warm cache, so a test's own run cannot change what other tests see."""
    return Path(shutil.copytree(cache, tmp_path / "warm-cache"))


# ---------------------------------------------------------------- hf-seq2seq and the translation cache


@pytest.fixture(scope="module")
def marian_runs(tmp_path_factory, data, marian_model):
    """The Marian config run three times on one cache: cold, warm, and with --no-cache (in a probed interpreter)."""
    folder = tmp_path_factory.mktemp("marian-runs")
    config = write_config(folder / "configs", data, marian_system(marian_model))
    cache = folder / "cache"
    cold = run(config, folder / "cold", cache)
    warm = run(config, folder / "warm", cache)
    uncached, uncached_modules = run_probed(config, folder / "uncached", cache, "--no-cache")
    return {
        "config": config,
        "cache": cache,
        "cold": cold,
        "warm": warm,
        "uncached": uncached,
        "uncached_modules": uncached_modules,
    }


@pytest.mark.model
def test_seq2seq_run_scores_the_model_with_every_metric(marian_runs):
    scores = pd.read_csv(marian_runs["cold"] / "scores.csv")
    assert list(scores.metric) == ["BLEU", "chrF2"]
    assert set(scores.system) == {"marian"}
    assert set(scores.n_segments) == {len(SEGMENTS)}


@pytest.mark.model
def test_seq2seq_run_writes_one_string_hypothesis_per_segment(marian_runs):
    hyps = hypotheses(marian_runs["cold"])
    assert len(hyps) == len(SEGMENTS)
    assert all(isinstance(h, str) for h in hyps)
    assert len(set(hyps)) > 1  # the outputs depend on the source


@pytest.mark.model
def test_repeated_source_gets_the_same_translation(marian_runs):
    hyps = hypotheses(marian_runs["cold"])
    assert hyps[0] == hyps[-1]  # segment 6 repeats segment 1


@pytest.mark.model
def test_greedy_decoding_is_deterministic_across_runs(marian_runs):
    # The --no-cache run translates every source again: same model, same settings, same outputs.
    assert hypotheses(marian_runs["uncached"]) == hypotheses(marian_runs["cold"])


@pytest.mark.model
def test_cold_run_sends_each_distinct_source_to_the_model_once(marian_runs):
    translation = manifest(marian_runs["cold"])["translation"]
    assert translation["model_calls"] == UNIQUE
    assert translation["model_loads"] == 1


@pytest.mark.model
def test_rerun_takes_every_translation_from_the_cache(marian_runs):
    translation = manifest(marian_runs["warm"])["translation"]
    assert translation["model_calls"] == 0
    assert translation["model_loads"] == 0
    assert translation["cells"][0]["cached"] == len(SEGMENTS)
    assert hypotheses(marian_runs["warm"]) == hypotheses(marian_runs["cold"])


@pytest.mark.model
def test_no_cache_translates_again(marian_runs):
    assert manifest(marian_runs["uncached"])["translation"]["model_calls"] == UNIQUE


@pytest.fixture(scope="module")
def variants_run(tmp_path_factory, marian_runs, data, marian_model):
    """On a copy of the warm cache: the cached system again, and copies of it that differ in one setting each
    (a system's name is not part of the cache key, so each entry stands for its settings alone)."""
    folder = tmp_path_factory.mktemp("variants-run")
    cache = copy_cache(marian_runs["cache"], folder)
    systems = "\n".join(
        [
            marian_system(marian_model, name="same"),
            marian_system(marian_model, ", num_beams: 2", name="beams"),
            marian_system(marian_model, name="shorter", max_new_tokens=8),
            marian_system(marian_model, ", batch_size: 2", name="batched"),
        ]
    )
    return cells(run(write_config(folder / "configs", data, systems), folder / "results", cache))


@pytest.mark.model
def test_unchanged_settings_hit_the_cache(variants_run):
    assert variants_run["same"]["cached"] == len(SEGMENTS) and variants_run["same"]["translated"] == 0


@pytest.mark.model
@pytest.mark.parametrize("system", ["beams", "shorter"])
def test_changed_decoding_setting_misses_the_cache(variants_run, system):
    assert variants_run[system]["translated"] == UNIQUE and variants_run[system]["cached"] == 0


@pytest.mark.model
def test_batch_size_is_not_part_of_the_cache_key(variants_run):
    assert variants_run["batched"]["cached"] == len(SEGMENTS) and variants_run["batched"]["translated"] == 0


@pytest.fixture
def one_thread():
    """In-process generation on one torch thread (tiny models; other load on the machine makes threads spin)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("engine", ["hf-seq2seq", "hf-causal"])
def test_batch_size_does_not_change_greedy_outputs(engine, data, marian_model, causal_model, one_thread):
    # Why batch_size may stay out of the cache key: padding in a batch changes nothing in float32.
    from evalharness.systems import ENGINES
    from evalharness.systems.context import RunContext

    settings = (
        {"model": str(marian_model)} if engine == "hf-seq2seq" else {"model": str(causal_model), "prompt": {"stop": []}}
    )
    sources = list(dict.fromkeys(read_lines(data / "src.de")))
    outputs = []
    for batch_size in (len(sources), 1):
        cfg = ENGINES[engine].config_model(
            name="m", engine=engine, max_new_tokens=12, batch_size=batch_size, **settings
        )
        outputs.append(ENGINES[engine](cfg).translate(sources, "de", "en", RunContext()))
    assert outputs[0] == outputs[1]
    assert len(set(outputs[0])) > 1


def test_relative_model_folder_resolves_against_the_config_folder(tmp_path, data, marian_model, monkeypatch):
    from evalharness.config import load_config

    shutil.copytree(marian_model, tmp_path / "configs" / "models" / "marian")
    config = write_config(
        tmp_path / "configs",
        data,
        "\n".join(
            [
                "  - {name: local, engine: hf-seq2seq, model: models/marian}",
                "  - {name: hub, engine: hf-causal, model: Helsinki-NLP/opus-mt-de-en}",
            ]
        ),
    )
    monkeypatch.chdir(data)  # the working directory must not matter
    local, hub = load_config(config).config.systems
    assert local.model == str(tmp_path / "configs" / "models" / "marian")
    assert hub.model == "Helsinki-NLP/opus-mt-de-en"  # no such folder: a hub id, left as it is


@pytest.mark.model
def test_fully_cached_run_never_imports_torch(marian_runs, tmp_path):
    cache = copy_cache(marian_runs["cache"], tmp_path)
    run_dir, modules = run_probed(marian_runs["config"], tmp_path / "results", cache)
    assert manifest(run_dir)["translation"]["model_calls"] == 0
    assert modules == {"torch": False, "transformers": False}
    assert marian_runs["uncached_modules"]["torch"] is True  # the probe does see torch when a model runs


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory, data, marian_model, nllb_model):
    """Marian and the NLLB-style model, each swept over two beam sizes."""
    folder = tmp_path_factory.mktemp("sweep-run")
    systems = (
        marian_system(marian_model)
        + f'\n  - {{name: nllb, engine: hf-seq2seq, model: "{nllb_model}", max_new_tokens: 8}}'
    )
    config = write_config(folder / "configs", data, systems, "sweep:\n  num_beams: [1, 2]\n")
    return run(config, folder / "results", folder / "cache")


@pytest.mark.model
def test_sweep_over_beams_gives_a_cell_per_value(sweep_run):
    scores = pd.read_csv(sweep_run / "scores.csv")
    assert list(scores.columns[:3]) == ["dataset", "system", "num_beams"]
    assert sorted(scores[scores.system == "marian"].num_beams.unique()) == [1, 2]
    assert len(scores) == 2 * 2 * 2  # systems x beam sizes x metrics
    assert len(hypotheses(sweep_run, "marian")) == 2 * len(SEGMENTS)


def test_sweep_loads_each_model_once(sweep_run):
    translation = manifest(sweep_run)["translation"]
    assert translation["model_calls"] == 2 * 2 * UNIQUE  # every cell went to its model ...
    assert translation["model_loads"] == 2  # ... and each model was loaded for its first cell only


# ---------------------------------------------------------------- language codes (NLLB, mBART-50, M2M100)


def test_language_codes_map_to_each_model_family():
    assert langcodes.nllb("de") == "deu_Latn"
    assert langcodes.nllb("zh") == "zho_Hans"
    assert langcodes.mbart50("zh") == "zh_CN"
    assert langcodes.m2m100("de") == "de"


@pytest.mark.parametrize("mapping", [langcodes.nllb, langcodes.mbart50, langcodes.m2m100, langcodes.name])
def test_unknown_language_is_a_user_error(mapping):
    with pytest.raises(UserError, match="'xx'"):
        mapping("xx")


def test_nllb_tokenizer_is_detected_as_the_nllb_family(nllb_model):
    from evalharness.systems.hf_seq2seq import detect_family
    from transformers import AutoConfig, AutoTokenizer

    assert detect_family(AutoTokenizer.from_pretrained(nllb_model), AutoConfig.from_pretrained(nllb_model)) == "nllb"


def test_nllb_codes_set_the_source_language_and_force_the_target_language(nllb_model):
    from evalharness.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(nllb_model)
    system = HFSeq2SeqSystem(HFSeq2SeqConfig(name="nllb", engine="hf-seq2seq", model=str(nllb_model)))
    prefix, extra = system._codes(tokenizer, "nllb", "zh", "de")
    assert prefix == ""
    assert tokenizer.src_lang == "zho_Hans"
    assert tokenizer("你好").input_ids[0] == tokenizer.convert_tokens_to_ids("zho_Hans")
    assert extra["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("deu_Latn")
    assert extra["forced_bos_token_id"] != tokenizer.unk_token_id


def test_nllb_model_folder_translates_through_the_cli(sweep_run):
    hyps = hypotheses(sweep_run, "nllb")
    assert len(hyps) == 2 * len(SEGMENTS) and all(isinstance(h, str) for h in hyps)
    assert not any("eng_Latn" in h for h in hyps)  # the forced language token is not part of the output


# ---------------------------------------------------------------- hf-causal: prompts


def test_base_prompt_holds_the_builtin_examples_and_ends_at_the_target_name():
    text = PromptConfig().render_text("Heute kostet sie 179€.", "de", "en")
    for row in EXAMPLE_ROWS:
        assert f"German: {row['de']}\nEnglish: {row['en']}\n" in text
    assert text.endswith("German: Heute kostet sie 179€.\nEnglish:")


def test_pair_without_builtin_examples_is_zero_shot():
    assert PromptConfig().render_text("Bonjour.", "fr", "en") == "French: Bonjour.\nEnglish:"


def test_completion_is_cut_at_the_first_stop_string():
    assert PromptConfig().cut(" Today it costs 179 euros.\nGerman: Morgen\n") == "Today it costs 179 euros."
    assert PromptConfig(stop=["###", "\n\n"]).cut("one\ntwo###three") == "one\ntwo"
    assert PromptConfig(stop=[]).cut(" one\ntwo \n") == "one\ntwo"


def test_causal_system_renders_the_few_shot_prompt_for_base_models(causal_model):
    from evalharness.systems.hf_causal import HFCausalConfig, HFCausalSystem
    from transformers import AutoTokenizer

    system = HFCausalSystem(HFCausalConfig(name="lm", engine="hf-causal", model=str(causal_model)))
    text = system.prompt_text(AutoTokenizer.from_pretrained(causal_model), "Heute kostet sie 179€.", "de", "en")
    assert text == PromptConfig().render_text("Heute kostet sie 179€.", "de", "en")


def test_chat_prompt_uses_the_tokenizers_chat_template(causal_model):
    from evalharness.systems.hf_causal import HFCausalConfig, HFCausalSystem
    from transformers import AutoTokenizer

    system = HFCausalSystem(
        HFCausalConfig(
            name="lm",
            engine="hf-causal",
            model=str(causal_model),
            prompt={"chat": True, "system": "You translate news."},
        )
    )
    text = system.prompt_text(AutoTokenizer.from_pretrained(causal_model), "Heute kostet sie 179€.", "de", "en")
    assert text.startswith("<|system|>You translate news.\n<|user|>Translate the following German text into English.")
    assert f"<|assistant|>{EXAMPLE_ROWS[0]['en']}\n" in text  # the examples are earlier turns
    assert text.endswith("Heute kostet sie 179€.\n<|assistant|>")


def test_chat_prompt_without_a_template_is_a_user_error(causal_model):
    from evalharness.systems.hf_causal import HFCausalConfig, HFCausalSystem
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(causal_model)
    tokenizer.chat_template = None
    system = HFCausalSystem(
        HFCausalConfig(name="lm", engine="hf-causal", model=str(causal_model), prompt={"chat": True})
    )
    with pytest.raises(UserError, match="no chat template"):
        system.prompt_text(tokenizer, "Hallo.", "de", "en")


# ---------------------------------------------------------------- hf-causal: runs


NEW_TEMPLATE = "{src_name}: {source}\\n{tgt_name}:"  # the default, without the few-shot examples


@pytest.fixture(scope="module")
def causal_runs(tmp_path_factory, data, causal_model):
    """Five systems on the tiny causal LM: few-shot with the default stop, without stop strings, chat template,
    sampled without and with a seed. Run twice on one cache, the second time with the template of `base` changed."""
    folder = tmp_path_factory.mktemp("causal-runs")
    systems = "\n".join(
        [
            causal_system("base", causal_model),
            causal_system("nostop", causal_model, ", prompt: {stop: []}"),
            causal_system("chat", causal_model, ", prompt: {chat: true}"),
            causal_system("unseeded", causal_model, ", do_sample: true"),
            causal_system("seeded", causal_model, ", do_sample: true, seed: 7"),
        ]
    )
    config = write_config(folder / "configs", data, systems)
    first = run(config, folder / "first", folder / "cache")
    second = run(config, folder / "second", folder / "cache", "--set", f'systems.base.prompt.template="{NEW_TEMPLATE}"')
    return {"first": first, "second": second}


@pytest.mark.model
def test_causal_outputs_stop_at_the_first_newline(causal_runs):
    raw = hypotheses(causal_runs["first"], "nostop")
    cut = hypotheses(causal_runs["first"], "base")
    assert any("\n" in h for h in raw)  # the model does write newlines ...
    assert not any("\n" in h for h in cut)  # ... and the translation ends at the first one
    assert cut == [h.split("\n")[0].strip() for h in raw]


@pytest.mark.model
def test_causal_chat_mode_runs_through_the_cli(causal_runs):
    hyps = hypotheses(causal_runs["first"], "chat")
    assert len(hyps) == len(SEGMENTS) and not any("\n" in h for h in hyps)
    assert cells(causal_runs["first"])["chat"]["translated"] == UNIQUE


@pytest.mark.model
def test_systems_on_one_model_share_one_load(causal_runs):
    assert manifest(causal_runs["first"])["translation"]["model_loads"] == 1


@pytest.mark.model
def test_causal_rerun_takes_greedy_translations_from_the_cache(causal_runs):
    second = cells(causal_runs["second"])
    assert second["nostop"]["cached"] == second["chat"]["cached"] == len(SEGMENTS)
    for name in ("nostop", "chat"):
        assert hypotheses(causal_runs["second"], name) == hypotheses(causal_runs["first"], name)


@pytest.mark.model
def test_prompt_change_misses_the_cache(causal_runs):
    assert cells(causal_runs["second"])["base"]["translated"] == UNIQUE
    assert cells(causal_runs["second"])["base"]["cached"] == 0


@pytest.mark.model
def test_sampling_without_a_seed_is_never_cached(causal_runs):
    first, second = cells(causal_runs["first"]), cells(causal_runs["second"])
    assert first["unseeded"]["translated"] == UNIQUE
    assert second["unseeded"]["translated"] == UNIQUE and second["unseeded"]["cached"] == 0


@pytest.mark.model
def test_sampling_with_a_seed_is_cached(causal_runs):
    first, second = cells(causal_runs["first"]), cells(causal_runs["second"])
    assert first["seeded"]["translated"] == UNIQUE
    assert second["seeded"]["translated"] == 0 and second["seeded"]["cached"] == len(SEGMENTS)

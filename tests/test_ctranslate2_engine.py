"""The `ctranslate2` engine on the tiny random-weight Marian model of test_hf_engines, converted here with
CTranslate2's own converter through the engine.

Random weights translate into garbage; what is checked is that CTranslate2 decodes the same tokens as
transformers (float32, greedy), that a conversion happens once, and the cache key and error rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evalharness.errors import UserError
from evalharness.systems import ENGINES
from evalharness.systems.context import RunContext
from evalharness.textio import read_lines

from conftest import error_lines, run_cli, wmt22_path
from test_hf_engines import training_lines
from tiny_marian import build_marian

pytest.importorskip("ctranslate2")

MAX_NEW_TOKENS = 12


@pytest.fixture(scope="module")
def marian_model(tmp_path_factory) -> Path:
    """A tiny Marian model in OPUS-MT's layout (the converter's), random weights."""
    return build_marian(tmp_path_factory.mktemp("tiny-marian-ct2"), training_lines())


def sources(n: int = 5) -> list[str]:
    return read_lines(wmt22_path("sources", "generaltest2022.de-en.src.de"))[:n]


def system(model: Path | str, **settings):
    cls = ENGINES["ctranslate2"]
    cfg = cls.config_model(
        name="ct2",
        engine="ctranslate2",
        model=str(model),
        **{"compute_type": "float32", "num_beams": 1, "intra_threads": 1, "max_new_tokens": MAX_NEW_TOKENS, **settings},
    )
    return cls(cfg)


@pytest.fixture
def model_cache(tmp_path, monkeypatch) -> Path:
    """A private model cache, so that each test sees its own conversions."""
    folder = tmp_path / "models"
    monkeypatch.setenv("EVALHARNESS_MODEL_DIR", str(folder))
    return folder


def conversions(models: Path) -> list[Path]:
    return [p for p in models.iterdir() if p.is_dir()] if models.exists() else []


def transformers_greedy(model_folder: Path, texts: list[str]) -> list[str]:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_folder, dtype=torch.float32).eval()
    out = []
    for text in texts:
        enc = tokenizer([text], return_tensors="pt")
        with torch.inference_mode():
            ids = model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=MAX_NEW_TOKENS)
        out.append(tokenizer.decode(ids[0], skip_special_tokens=True).strip())
    return out


def test_float32_greedy_outputs_equal_transformers_generate(marian_model, model_cache):
    texts = sources()
    got = system(marian_model).translate(texts, "de", "en", RunContext())
    assert got == transformers_greedy(marian_model, texts)
    assert len(set(got)) > 1  # different sources, different outputs: the comparison compares something


def test_a_model_is_converted_once_and_reused(marian_model, model_cache):
    system(marian_model).translate(sources(2), "de", "en", RunContext())
    (first,) = conversions(model_cache)
    stamp = (first / "model.bin").stat().st_mtime_ns
    system(marian_model).translate(sources(3), "de", "en", RunContext())  # a new pool: loads again
    assert conversions(model_cache) == [first]
    assert (first / "model.bin").stat().st_mtime_ns == stamp


def test_a_ctranslate2_folder_is_used_as_it_is(marian_model, model_cache):
    texts = sources(3)
    from_hf = system(marian_model).translate(texts, "de", "en", RunContext())
    (ct2_folder,) = conversions(model_cache)
    from_ct2 = system(ct2_folder, tokenizer=str(marian_model)).translate(texts, "de", "en", RunContext())
    assert from_ct2 == from_hf
    assert conversions(model_cache) == [ct2_folder]


def test_batch_settings_and_threads_keep_the_cache_key(marian_model):
    base = system(marian_model).fingerprint()
    assert system(marian_model, batch_size=2, batch_type="tokens", intra_threads=2).fingerprint() == base


def test_batching_does_not_change_outputs(marian_model, model_cache):
    texts = sources(6)
    one = system(marian_model, batch_size=1).translate(texts, "de", "en", RunContext())
    assert system(marian_model, batch_size=64, batch_type="tokens").translate(texts, "de", "en", RunContext()) == one


@pytest.mark.parametrize("setting", [{"compute_type": "int8"}, {"num_beams": 2}, {"max_new_tokens": 5}])
def test_compute_type_and_decoding_settings_change_the_cache_key(marian_model, setting):
    assert system(marian_model, **setting).fingerprint() != system(marian_model).fingerprint()


def test_the_model_weights_are_in_the_cache_key(marian_model, tmp_path):
    import shutil

    other = Path(shutil.copytree(marian_model, tmp_path / "other"))
    (other / "config.json").write_text((other / "config.json").read_text() + "\n")
    assert system(other).fingerprint() != system(marian_model).fingerprint()


# ---------------------------------------------------------------- errors, one line each


def write_config(folder: Path, model: str) -> Path:
    src = sources(2)
    (folder / "src.de").write_text("".join(s + "\n" for s in src), encoding="utf-8")
    ref = read_lines(wmt22_path("references", "generaltest2022.de-en.ref.A.en"))[:2]
    (folder / "ref.en").write_text("".join(s + "\n" for s in ref), encoding="utf-8")
    config = folder / "exp.yaml"
    config.write_text(
        f"""datasets:
  - {{name: news, kind: parallel, langpair: de-en, source: "{folder / "src.de"}", references: ["{folder / "ref.en"}"]}}
systems:
  - {{name: ct2, engine: ctranslate2, model: "{model}"}}
metrics: [bleu]
""",
        encoding="utf-8",
    )
    return config


def test_missing_model_folder_is_one_line(tmp_path):
    proc = run_cli("run", write_config(tmp_path, str(tmp_path / "nowhere")), "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "does not exist" in line and "nowhere" in line


def test_folder_that_is_no_model_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli("run", write_config(tmp_path, str(tmp_path / "empty")), "--output-dir", tmp_path / "out")
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "neither a CTranslate2 model folder" in line


def test_a_model_ctranslate2_cannot_convert_is_one_line(tmp_path, model_cache):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "no-such-model", "architectures": ["NoSuchModel"]}')
    with pytest.raises(UserError, match="cannot convert") as err:
        system(folder).translate(["Hallo."], "de", "en", RunContext())
    assert "\n" not in str(err.value)
    assert conversions(model_cache) == []  # nothing half-written left behind


def test_unknown_language_code_is_one_line(marian_model):
    from evalharness.datasets.base import Dataset

    dataset = Dataset(
        name="x", sources=["a"], references=[["a"]], reference_names=["A"], source_lang="xx", target_lang="en"
    )
    with pytest.raises(UserError, match="'xx'") as err:
        system(marian_model, family="nllb").check(dataset)
    assert "\n" not in str(err.value)


def test_missing_package_names_the_extra(marian_model, monkeypatch):
    from evalharness.systems import ctranslate2 as engine

    monkeypatch.setattr(engine, "available", lambda: False)
    with pytest.raises(UserError, match=r"\.\[ctranslate2\]"):
        system(marian_model).translate(["Hallo."], "de", "en", RunContext())

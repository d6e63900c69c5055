"""`ctranslate2`: encoder-decoder MT models (Marian opus-mt, NLLB-200, M2M100) run by CTranslate2, the inference
engine OPUS-MT and many MT groups deploy on CPUs (several times faster than transformers there, int8 included).

The model is a CTranslate2 model folder (`model.bin`), or a Hugging Face model folder that CTranslate2's own
converter turns into one once, into the model cache (`evalharness.cache.model_dir()`), atomically. Tokenization
and language codes are transformers' and `hf-seq2seq`'s (the same `langcodes` mapping), so both engines read a
model the same way.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field

from evalharness import langcodes
from evalharness.cache import model_dir
from evalharness.configtypes import ModelRef
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.fileid import folder_sha256
from evalharness.systems import decoding, hf_seq2seq
from evalharness.systems.base import AFFECTS_OUTPUT, SystemConfigBase
from evalharness.systems.context import RunContext
from evalharness.systems.generation import batches
from evalharness.systems.torchutil import quiet_transformers
from evalharness.systems.translation import TranslationSystem, check_languages

INSTALL_HINT = "pip install -e '.[ctranslate2]' (ctranslate2==4.8.5)"
FAMILY_CODES = {"nllb": langcodes.nllb, "m2m100": langcodes.m2m100}


class CTranslate2Config(SystemConfigBase):
    """Batching and threads change CTranslate2's speed, not its greedy and beam outputs (it does not sample)."""

    engine: Literal["ctranslate2"]
    model: ModelRef = Field(
        description="a CTranslate2 model folder, or a Hugging Face model folder (converted once)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    tokenizer: ModelRef | None = Field(
        default=None,
        description="folder of the transformers tokenizer (default: the model folder)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    family: Literal["auto", "marian", "nllb", "m2m100"] = Field(
        default="auto",
        description="how language codes are passed; auto: from the tokenizer",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    compute_type: Literal["int8", "int8_float32", "float32"] = Field(
        default="int8", description="weights and arithmetic", json_schema_extra={AFFECTS_OUTPUT: True}
    )
    num_beams: int = decoding.field("num_beams")
    max_new_tokens: int = decoding.field("max_new_tokens")
    length_penalty: float = decoding.field("length_penalty")
    max_input_tokens: int = Field(
        strict=True, default=512, ge=1, description="longer sources are cut", json_schema_extra={AFFECTS_OUTPUT: True}
    )
    batch_size: int = decoding.field(
        "batch_size", default=32, description="examples or tokens per batch (batch_type)", affects_output=False
    )
    batch_type: Literal["examples", "tokens"] = Field(default="examples", json_schema_extra={AFFECTS_OUTPUT: False})
    intra_threads: int = Field(
        strict=True,
        default=0,
        ge=0,
        description="CPU threads (0: CTranslate2's default)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    device: Literal["cpu", "cuda"] = decoding.field("device", default="cpu", description="cpu or cuda")


def available() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def require() -> None:
    if not available():
        raise UserError(f"engine ctranslate2: the ctranslate2 package is not installed: {INSTALL_HINT}")


def is_ct2_folder(folder: Path) -> bool:
    return (folder / "model.bin").is_file()


def check_model_folder(model: str) -> Path:
    """A CTranslate2 folder or a Hugging Face encoder-decoder folder, else one line saying what is wrong."""
    folder = Path(model)
    if not folder.is_dir():
        raise UserError(f"engine ctranslate2: model folder {model!r} does not exist (give a local folder)")
    if is_ct2_folder(folder):
        return folder
    if not (folder / "config.json").is_file():
        raise UserError(
            f"engine ctranslate2: {model!r} is neither a CTranslate2 model folder (model.bin) "
            "nor a Hugging Face model folder (config.json)"
        )
    return folder


def converted(folder: Path) -> Path:
    """The CTranslate2 conversion of a Hugging Face model folder, made on first use: written to a temporary
    folder and renamed into place, so an interrupted conversion leaves nothing that looks finished."""
    import ctranslate2

    target = model_dir() / f"ct2-{ctranslate2.__version__}-{folder.name}-{folder_sha256(folder)[:16]}"
    if is_ct2_folder(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            ctranslate2.converters.TransformersConverter(str(folder)).convert(str(tmp), force=True)
        except (ValueError, NotImplementedError, OSError, KeyError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(
                f"engine ctranslate2: cannot convert {str(folder)!r} (not an encoder-decoder model CTranslate2 "
                f"converts?): {first}"
            ) from err
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not is_ct2_folder(target):
            raise
    return target


def detect_family(tokenizer) -> str:
    """`hf-seq2seq`'s detection (the same tokenizer, the same answer); a family this engine does not pass codes
    for (mBART-50, T5) is refused rather than run as Marian."""
    family = hf_seq2seq.detect_family(tokenizer, None)
    if family not in ("marian", "nllb", "m2m100"):
        raise UserError(f"ctranslate2: a {family} model is not supported (Marian, NLLB and M2M100 are); use hf-seq2seq")
    return family


class CTranslate2System(TranslationSystem):
    config_model = CTranslate2Config
    cfg: CTranslate2Config

    def check(self, dataset: Dataset) -> None:
        require()
        check_model_folder(self.cfg.model)
        codes = [langcodes.name] + ([FAMILY_CODES[self.cfg.family]] if self.cfg.family in FAMILY_CODES else [])
        check_languages(self.name, dataset, *codes)

    def runtime(self) -> dict:
        from importlib.metadata import version

        return {"backend": "ctranslate2", "ctranslate2": version("ctranslate2")}

    def identity(self) -> dict:
        """The weights (the folder's content hash) and the converter's version where it converts."""
        folder = Path(self.cfg.model)
        ident: dict = {"model_sha256": folder_sha256(folder)} if folder.is_dir() else {"model": self.cfg.model}
        if folder.is_dir() and not is_ct2_folder(folder) and available():
            from importlib.metadata import version

            ident["converted_by"] = f"ctranslate2 {version('ctranslate2')}"
        if self.cfg.tokenizer is not None and Path(self.cfg.tokenizer).is_dir():
            ident["tokenizer_sha256"] = folder_sha256(self.cfg.tokenizer)
        return ident

    def load(self, ctx: RunContext):
        require()
        folder = check_model_folder(self.cfg.model)
        key = ("ctranslate2", self.cfg.model, self.cfg.compute_type, self.cfg.intra_threads, self.cfg.device)

        def load():
            import ctranslate2

            quiet_transformers(ctx.progress.terminal)
            from transformers import AutoTokenizer

            ct2_folder = folder if is_ct2_folder(folder) else converted(folder)
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.cfg.tokenizer or str(folder), local_files_only=True)
            except (OSError, ValueError) as err:
                raise UserError(
                    f"engine ctranslate2: no transformers tokenizer in {self.cfg.tokenizer or str(folder)!r} "
                    f"(set `tokenizer:` to the original model's folder): {type(err).__name__}"
                ) from err
            translator = ctranslate2.Translator(
                str(ct2_folder),
                device=self.cfg.device,
                compute_type=self.cfg.compute_type,
                intra_threads=self.cfg.intra_threads,
            )
            return tokenizer, translator

        return ctx.models.get(key, load)

    def _codes(self, tokenizer, family: str, src: str, tgt: str) -> list[str] | None:
        """The target prefix (the target language token) for NLLB and M2M100; the tokenizer's source language."""
        if family == "nllb":
            tokenizer.src_lang = langcodes.nllb(src)
            return [langcodes.nllb(tgt)]
        if family == "m2m100":
            tokenizer.src_lang = langcodes.m2m100(src)
            return [tokenizer.get_lang_token(langcodes.m2m100(tgt))]
        return None

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        tokenizer, translator = self.load(ctx)
        family = self.cfg.family if self.cfg.family != "auto" else detect_family(tokenizer)
        prefix = self._codes(tokenizer, family, src_lang, tgt_lang)
        # One call per slice of the length-sorted sources, so finished segments reach the cache as they complete;
        # CTranslate2 batches within the slice by `batch_size` and `batch_type`.
        chunk = max(self.cfg.batch_size, 64) if self.cfg.batch_type == "examples" else 64
        for batch in batches(sources, chunk, key=len):
            tokens = [
                tokenizer.convert_ids_to_tokens(
                    tokenizer(sources[i], truncation=True, max_length=self.cfg.max_input_tokens).input_ids
                )
                for i in batch
            ]
            results = translator.translate_batch(
                tokens,
                target_prefix=[prefix] * len(tokens) if prefix else None,
                max_batch_size=self.cfg.batch_size,
                batch_type=self.cfg.batch_type,
                beam_size=self.cfg.num_beams,
                length_penalty=self.cfg.length_penalty,
                max_decoding_length=self.cfg.max_new_tokens + (1 if prefix else 0),
            )
            for i, result in zip(batch, results, strict=True):
                out = result.hypotheses[0][1 if prefix else 0 :]
                text = tokenizer.decode(tokenizer.convert_tokens_to_ids(out), skip_special_tokens=True)
                yield i, text.strip()

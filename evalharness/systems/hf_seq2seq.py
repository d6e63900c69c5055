"""`hf-seq2seq`: encoder-decoder translation models through transformers (Marian, NLLB-200, M2M100, mBART-50,
T5/MADLAD-style prefixes), with the config's ISO language codes mapped to each family's codes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evalharness import langcodes
from evalharness.configtypes import ModelRef
from evalharness.datasets.base import Dataset
from evalharness.fileid import model_identity
from evalharness.systems.base import AFFECTS_OUTPUT
from evalharness.systems.context import RunContext
from evalharness.systems.generation import batches, generation_kwargs, seed_everything
from evalharness.systems.torchutil import load_error, pick_device, pick_dtype, quiet_transformers, transformers_runtime
from evalharness.systems.translation import TranslationConfigBase, TranslationSystem, check_languages

Family = Literal["auto", "marian", "nllb", "m2m100", "mbart50", "t5", "madlad"]


class HFSeq2SeqConfig(TranslationConfigBase):
    engine: Literal["hf-seq2seq"]
    model: ModelRef = Field(
        description="hub id (from the local cache) or a local folder", json_schema_extra={AFFECTS_OUTPUT: True}
    )
    revision: str | None = Field(default=None, json_schema_extra={AFFECTS_OUTPUT: True})
    local_files_only: bool = Field(
        default=True,
        description="never ask the hub (set false to allow downloads)",
        json_schema_extra={AFFECTS_OUTPUT: False},  # where the model comes from; `identity` pins which one it is
    )
    family: Family = Field(
        default="auto",
        description="how language codes are passed; auto: from the tokenizer",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    prefix: str | None = Field(
        default=None,
        description="text before every source; {src_name} {tgt_name} {tgt} filled in",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    max_input_tokens: int = Field(
        strict=True, default=512, ge=1, description="longer sources are cut", json_schema_extra={AFFECTS_OUTPUT: True}
    )


def detect_family(tokenizer, model_config) -> str:
    name = type(tokenizer).__name__.lower()
    model_type = getattr(model_config, "model_type", "")
    if "nllb" in name:
        return "nllb"
    if "m2m100" in name:
        return "m2m100"
    if "mbart" in name:
        return "mbart50"
    if model_type in ("t5", "mt5", "umt5"):
        return "t5"
    return "marian"


class HFSeq2SeqSystem(TranslationSystem):
    config_model = HFSeq2SeqConfig
    cfg: HFSeq2SeqConfig

    def check(self, dataset: Dataset) -> None:
        """Every family names the languages in its prefix; nllb, m2m100 and mbart50 also need their own codes (an
        `auto` family is known only once the tokenizer loads)."""
        family_code = {"nllb": langcodes.nllb, "m2m100": langcodes.m2m100, "mbart50": langcodes.mbart50}
        codes = [langcodes.name] + ([family_code[self.cfg.family]] if self.cfg.family in family_code else [])
        check_languages(self.name, dataset, *codes)

    def runtime(self) -> dict:
        return transformers_runtime()

    def identity(self) -> dict:
        return model_identity(self.cfg.model, self.cfg.revision)

    def load(self, ctx: RunContext):
        device = pick_device(self.cfg.device)
        dtype = pick_dtype(self.cfg.dtype, device)
        key = ("hf-seq2seq", self.cfg.model, self.cfg.revision, str(dtype), device)

        def load():
            quiet_transformers(ctx.progress.terminal)
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(
                    self.cfg.model, revision=self.cfg.revision, local_files_only=self.cfg.local_files_only
                )
                model = AutoModelForSeq2SeqLM.from_pretrained(
                    self.cfg.model, revision=self.cfg.revision, dtype=dtype, local_files_only=self.cfg.local_files_only
                )
            except (OSError, ValueError) as err:
                raise load_error(self.cfg.model, err) from err
            return tokenizer, model.to(device).eval(), device

        return ctx.models.get(key, load)

    def _codes(self, tokenizer, family: str, src: str, tgt: str) -> tuple[str, dict]:
        """(prefix for every source, extra generate() arguments) for this model family and language pair."""
        prefix = self.cfg.prefix
        extra = {}
        if family == "nllb":
            tokenizer.src_lang = langcodes.nllb(src)
            extra["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(langcodes.nllb(tgt))
        elif family == "m2m100":
            tokenizer.src_lang = langcodes.m2m100(src)
            extra["forced_bos_token_id"] = tokenizer.get_lang_id(langcodes.m2m100(tgt))
        elif family == "mbart50":
            tokenizer.src_lang = langcodes.mbart50(src)
            extra["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(langcodes.mbart50(tgt))
        elif family == "t5" and prefix is None:
            prefix = "translate {src_name} to {tgt_name}: "
        elif family == "madlad" and prefix is None:
            prefix = "<2{tgt}> "
        prefix = (prefix or "").format(src_name=langcodes.name(src), tgt_name=langcodes.name(tgt), src=src, tgt=tgt)
        return prefix, extra

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        import torch

        tokenizer, model, device = self.load(ctx)
        family = self.cfg.family if self.cfg.family != "auto" else detect_family(tokenizer, model.config)
        prefix, extra = self._codes(tokenizer, family, src_lang, tgt_lang)
        seed_everything(self.cfg)
        for batch in batches(sources, self.cfg.batch_size, key=len):
            enc = tokenizer(
                [prefix + sources[i] for i in batch],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.cfg.max_input_tokens,
            ).to(device)
            with torch.inference_mode():
                generated = model.generate(**enc, **generation_kwargs(self.cfg), **extra)
            yield from zip(
                batch,
                (text.strip() for text in tokenizer.batch_decode(generated, skip_special_tokens=True)),
                strict=True,
            )

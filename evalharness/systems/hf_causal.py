"""`hf-causal`: decoder-only language models prompted to translate (few-shot for base models, chat template for
instruct models), from a hub id, a local folder or a GGUF file.

GGUF files are dequantized by transformers, which takes most of a minute; the converted weights and tokenizer
are saved once as safetensors under the cache folder, keyed by the file's hash, so later loads take seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field

from evalharness.cache import model_dir
from evalharness.configtypes import ModelRef
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.fileid import file_sha256, model_identity
from evalharness.systems.base import AFFECTS_OUTPUT
from evalharness.systems.context import RunContext
from evalharness.systems.generation import batches, generation_kwargs, seed_everything
from evalharness.systems.prompted import PromptedConfig, check_prompt, new_token_cap, prompt_text
from evalharness.systems.torchutil import load_error, pick_device, pick_dtype, quiet_transformers, transformers_runtime
from evalharness.systems.translation import TranslationSystem, translation_pairs


class HFCausalConfig(PromptedConfig):
    engine: Literal["hf-causal"]
    model: ModelRef = Field(
        description="hub id (from the local cache), a local folder, or a .gguf file",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    gguf_file: str | None = Field(
        default=None,
        description="a GGUF file inside `model` (a folder or hub repo)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    revision: str | None = Field(default=None, json_schema_extra={AFFECTS_OUTPUT: True})
    local_files_only: bool = Field(
        default=True,
        description="never ask the hub (set false to allow downloads)",
        json_schema_extra={AFFECTS_OUTPUT: False},  # where the model comes from; `identity` pins which one it is
    )


def _clear_gguf_quantization(model) -> None:
    """transformers refuses to save a GGUF-loaded model although its weights are plain tensors after loading."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def converted_gguf(gguf_path: Path, dtype) -> Path:
    """The folder of safetensors converted from a GGUF file, made on first use (atomically)."""
    digest = file_sha256(gguf_path)
    target = model_dir() / f"{gguf_path.stem}-{digest[:16]}"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=dtype)
    except (OSError, ValueError) as err:
        raise load_error(str(gguf_path), err) from err
    _clear_gguf_quantization(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").exists():
            raise
    return target


class HFCausalSystem(TranslationSystem):
    config_model = HFCausalConfig
    cfg: HFCausalConfig

    def gguf_path(self) -> Path | None:
        if self.cfg.gguf_file:
            return Path(self.cfg.model) / self.cfg.gguf_file
        if self.cfg.model.endswith(".gguf"):
            return Path(self.cfg.model)
        return None

    def check(self, dataset: Dataset) -> None:
        for src, tgt in translation_pairs(dataset):
            check_prompt(self.name, self.cfg.prompt, src, tgt)

    def runtime(self) -> dict:
        return transformers_runtime()

    def identity(self) -> dict:
        gguf = self.gguf_path()
        if gguf is not None:
            if not gguf.is_file():
                raise UserError(f"system {self.name}: GGUF file not found: {gguf}")
            return {"gguf_sha256": file_sha256(gguf)}
        return model_identity(self.cfg.model, self.cfg.revision)

    def load(self, ctx: RunContext):
        device = pick_device(self.cfg.device)
        dtype = pick_dtype(self.cfg.dtype, device)
        gguf = self.gguf_path()
        revision = getattr(self.cfg, "revision", None)
        key = ("hf-causal", str(gguf or self.cfg.model), revision, str(dtype), device)

        def load():
            quiet_transformers(ctx.progress.terminal)
            from transformers import AutoModelForCausalLM, AutoTokenizer

            source = converted_gguf(gguf, dtype) if gguf is not None else self.cfg.model
            try:
                local = getattr(self.cfg, "local_files_only", True)
                tokenizer = AutoTokenizer.from_pretrained(
                    source, revision=None if gguf else revision, local_files_only=local
                )
                model = AutoModelForCausalLM.from_pretrained(
                    source, revision=None if gguf else revision, dtype=dtype, local_files_only=local
                )
            except (OSError, ValueError) as err:
                raise load_error(str(source), err) from err
            tokenizer.padding_side = "left"  # generation continues from the right end of every prompt
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            # transformers wraps PreTrainedModel.to in functools.wraps(torch.nn.Module.to): its type takes `device`
            # for the unbound `self`.
            return tokenizer, model.to(device).eval(), device  # type: ignore[arg-type]

        return ctx.models.get(key, load)

    def prompt_text(self, tokenizer, source: str, src: str, tgt: str) -> str:
        def chat(messages):
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

        has_template = bool(getattr(tokenizer, "chat_template", None))
        return prompt_text(self.name, self.cfg.prompt, source, src, tgt, chat if has_template else None)

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        import torch

        tokenizer, model, device = self.load(ctx)
        prompts = [self.prompt_text(tokenizer, s, src_lang, tgt_lang) for s in sources]
        source_tokens = [len(tokenizer(s, add_special_tokens=False).input_ids) for s in sources]
        stops = [s for s in self.cfg.prompt.stop if s]
        seed_everything(self.cfg)
        for batch in batches(sources, self.cfg.batch_size, key=lambda s: len(s)):
            # Chat templates already hold the special tokens they need.
            enc = tokenizer(
                [prompts[i] for i in batch],
                return_tensors="pt",
                padding=True,
                add_special_tokens=not self.cfg.prompt.chat,
            ).to(device)
            kwargs = generation_kwargs(self.cfg)
            kwargs["max_new_tokens"] = new_token_cap(self.cfg, max(source_tokens[i] for i in batch))
            if stops:
                kwargs.update(stop_strings=stops, tokenizer=tokenizer)
            with torch.inference_mode():
                generated = model.generate(**enc, **kwargs, pad_token_id=tokenizer.pad_token_id)
            completions = tokenizer.batch_decode(generated[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            yield from zip(batch, (self.cfg.prompt.cut(completion) for completion in completions), strict=True)

"""What the language-model engines (`hf-causal`, `llama-cpp`, the `gemma-270m` preset) share: the prompt
settings, the prompt text (few-shot text or the model's chat template), the cap on new tokens, the cut at the
first stop string. One path for all of them, so the same config gives the same prompt on every engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pydantic import Field

from evalharness.errors import UserError
from evalharness.prompts import PromptConfig
from evalharness.systems.base import AFFECTS_OUTPUT
from evalharness.systems.translation import TranslationConfigBase

# messages -> the prompt text, with the generation prompt added (the engine's rendering of a chat template)
ChatRenderer = Callable[[list[dict[str, str]]], str]


class PromptedConfig(TranslationConfigBase):
    """Decoding settings plus how the model is asked to translate."""

    prompt: PromptConfig = Field(default_factory=PromptConfig, json_schema_extra={AFFECTS_OUTPUT: True})
    length_ratio: float = Field(
        default=3.0,
        gt=0,
        description="cap on new tokens per source token (plus 16)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )


def check_prompt(system_name: str, prompt: PromptConfig, src: str, tgt: str) -> None:
    """What building this pair's prompt would refuse: a language without an English name, more shots than
    examples."""
    try:
        prompt.names(src, tgt)
    except UserError as err:
        raise UserError(f"system {system_name}: {src}-{tgt}: {err}") from err
    prompt.shots(src, tgt, system_name)


def prompt_text(
    system_name: str, prompt: PromptConfig, source: str, src: str, tgt: str, chat: ChatRenderer | None
) -> str:
    """The whole prompt for one segment. `chat` is None when the model has no chat template."""
    if not prompt.chat:
        return prompt.render_text(source, src, tgt)
    if chat is None:
        raise UserError(f"system {system_name}: prompt.chat is true but the model has no chat template")
    return chat(prompt.render_messages(source, src, tgt))


def new_token_cap(cfg: PromptedConfig, source_tokens: int) -> int:
    """At most `length_ratio` new tokens per source token (+16): a model that never emits the stop string
    must not run on to max_new_tokens (it holds a whole batch open in transformers)."""
    return min(cfg.max_new_tokens, math.ceil(source_tokens * cfg.length_ratio) + 16)

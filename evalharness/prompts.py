"""Prompts for translating with language models: a few-shot template for base models, the tokenizer's chat
template for instruct models. The prompt (template, examples, stop strings) is part of a system's identity:
it is in the translation cache's fingerprint and in the resolved config of every run.

The built-in examples are written for this project (short news-style sentences), not taken from any test set,
so they cannot leak test references into the prompt.
"""

from __future__ import annotations

from pydantic import Field

from evalharness import langcodes
from evalharness.configtypes import Strict
from evalharness.errors import UserError

# One meaning per row, in each language the built-in examples cover.
EXAMPLE_ROWS: list[dict[str, str]] = [
    {
        "en": "The government announced new measures to lower energy prices on Monday.",
        "de": "Die Regierung hat am Montag neue Maßnahmen zur Senkung der Energiepreise angekündigt.",
        "zh": "政府周一宣布了降低能源价格的新措施。",
    },
    {
        "en": "According to the police, nobody was injured in the accident.",
        "de": "Nach Angaben der Polizei wurde bei dem Unfall niemand verletzt.",
        "zh": "据警方称，事故中没有人受伤。",
    },
    {
        "en": "From next week, the museum will again be open every day from 10 a.m. to 6 p.m.",
        "de": "Ab nächster Woche ist das Museum wieder täglich von 10 bis 18 Uhr geöffnet.",
        "zh": "从下周起，博物馆将再次每天上午10点至下午6点开放。",
    },
]


def most_examples(examples: dict[str, list] | None) -> int:
    """The most few-shot examples any language pair has (`prompt.examples`, None: the built-in ones). An `n_shots`
    of at least this many takes every example of every pair it can be used on (more is refused), so it prompts
    exactly as leaving `n_shots` out does."""
    if examples is None:
        languages = sorted(set().union(*EXAMPLE_ROWS))
        return max(len(builtin_examples(src, tgt)) for src in languages for tgt in languages if src != tgt)
    return max((len(pair) for pair in examples.values()), default=0)


class Example(Strict):
    source: str
    target: str


def builtin_examples(src: str, tgt: str) -> list[Example]:
    """Examples for any pair of en, de, zh; none for other pairs (zero-shot)."""
    return [Example(source=row[src], target=row[tgt]) for row in EXAMPLE_ROWS if src in row and tgt in row]


class PromptConfig(Strict):
    """How a language model is asked to translate one segment."""

    chat: bool = Field(default=False, description="use the tokenizer's chat template (instruct models)")
    template: str = Field(
        default="{examples}{src_name}: {source}\n{tgt_name}:",
        description="base models: the whole prompt; {examples} {src_name} {tgt_name} {source}",
    )
    example_template: str = "{src_name}: {source}\n{tgt_name}: {target}\n\n"
    instruction: str = Field(
        default="Translate the following {src_name} text into {tgt_name}. Reply with the translation only.\n\n{source}",
        description="chat models: the user turn; {src_name} {tgt_name} {source}",
    )
    system: str | None = Field(default=None, description="chat models: an optional system message")
    examples: dict[str, list[Example]] | None = Field(
        default=None, description="few-shot examples per language pair ('de-en': [...]); default: built-in ones"
    )
    stop: list[str] = Field(default_factory=lambda: ["\n"], description="the translation ends at the first of these")
    n_shots: int | None = Field(
        strict=True, default=None, ge=0, description="the first n examples of the pair (0: zero-shot); default: all"
    )

    def shots(self, src: str, tgt: str, system_name: str | None = None) -> list[Example]:
        """The examples of the prompt: the pair's examples (given, else built-in), the first `n_shots` of them."""
        examples = builtin_examples(src, tgt) if self.examples is None else self.examples.get(f"{src}-{tgt}", [])
        if self.n_shots is None:
            return examples
        if self.n_shots > len(examples):
            who = f"system {system_name}: " if system_name else ""
            raise UserError(
                f"{who}prompt.n_shots {self.n_shots}: only {len(examples)} few-shot examples for {src}-{tgt} "
                f"({'prompt.examples' if self.examples is not None else 'built-in'})"
            )
        return examples[: self.n_shots]

    def names(self, src: str, tgt: str) -> dict[str, str]:
        return {"src_name": langcodes.name(src), "tgt_name": langcodes.name(tgt)}

    def render_text(self, source: str, src: str, tgt: str) -> str:
        """The few-shot prompt of a base model."""
        names = self.names(src, tgt)
        shots = "".join(
            self.example_template.format(source=e.source, target=e.target, **names) for e in self.shots(src, tgt)
        )
        return self.template.format(examples=shots, source=source, **names)

    def render_messages(self, source: str, src: str, tgt: str) -> list[dict[str, str]]:
        """The chat of an instruct model: examples as earlier turns, then the segment."""
        names = self.names(src, tgt)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        for e in self.shots(src, tgt):
            messages.append({"role": "user", "content": self.instruction.format(source=e.source, **names)})
            messages.append({"role": "assistant", "content": e.target})
        messages.append({"role": "user", "content": self.instruction.format(source=source, **names)})
        return messages

    def cut(self, completion: str) -> str:
        """The translation: the completion up to the first stop string, stripped."""
        end = len(completion)
        for stop in self.stop:
            if stop and stop in completion:
                end = min(end, completion.index(stop))
        return completion[:end].strip()

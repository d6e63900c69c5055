"""The shape of a metric: its config, its sacrebleu object, its direction and a fingerprint for caching."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import ClassVar

import sacrebleu
from pydantic import Field

from evalharness.configtypes import Strict
from evalharness.errors import UserError
from evalharness.metrics.sacrebleu_adapter import ensure_supported


class MetricConfigBase(Strict):
    label: str | None = Field(default=None, description="column name; defaults to sacrebleu's score name")


class Metric(ABC):
    """One configured sacrebleu metric. Stateless: builds fresh sacrebleu objects on demand (also in workers)."""

    higher_is_better: ClassVar[bool] = True
    # Relative cost per segment, to schedule the slow metrics first.
    cost: ClassVar[int] = 1

    def __init__(self, cfg: MetricConfigBase):
        # The first metric made (config validation, `score`) refuses an unsupported sacrebleu, before any work.
        ensure_supported()
        self.cfg = cfg

    @property
    def label(self) -> str:
        return self.cfg.label or self.default_label()

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    @abstractmethod
    def default_label(self) -> str:
        """sacrebleu's own name for the score (BLEU, chrF2, chrF2++, TER)."""

    @abstractmethod
    def build(self, target_lang: str):
        """The sacrebleu metric object for corpus-level scores."""

    def build_sentence(self, target_lang: str):
        """The sacrebleu metric object for sentence-level scores (BLEU needs effective order there)."""
        return self.build(target_lang)

    def check(self, target_lang: str) -> None:
        """Build the metric and score one segment, before any model runs: a tokenizer whose package is missing
        (ja-mecab, ko-mecab), one that must be downloaded offline (spm, flores200) or options sacrebleu cannot
        compute with (a smoothing value of 0 for `floor`) fail here in one line, not after the translations."""
        try:
            self.build(target_lang).corpus_score(["a b c d"], [["a b x y"]])
            self.build_sentence(target_lang).sentence_score("a b c d", ["a b x y"])
        except Exception as err:  # sacrebleu raises RuntimeError, URLError, ValueError, ... with several lines
            detail = " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__
            if isinstance(err, OSError) and "urlopen" in str(err):
                detail += " (it downloads a model on first use; this machine is offline or cannot reach it)"
            raise UserError(f"metric {self.label} for target language {target_lang}: {detail}") from err

    def options(self) -> dict:
        return self.cfg.model_dump(exclude={"label"})

    def fingerprint(self, target_lang: str) -> str:
        """Everything that changes the per-segment statistics: options, target language, sacrebleu version."""
        return json.dumps(
            {"options": self.options(), "target_lang": target_lang, "sacrebleu": sacrebleu.__version__},
            sort_keys=True,
        )

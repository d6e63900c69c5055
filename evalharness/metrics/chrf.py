"""chrF and chrF++ (sacrebleu.metrics.CHRF); chrF++ is chrF with word bigrams (word_order=2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sacrebleu.metrics import CHRF

from evalharness.metrics.base import Metric, MetricConfigBase

# Bounds: sacrebleu's defaults are char_order 6, word_order 0 (chrF++: 2) and beta 2; Popović's chrF papers
# (2015-2017) use character n-grams up to 6, word n-grams up to 2 and beta 1 to 3. An unbounded order costs one
# pass over every segment per order (char_order 100000 ran for minutes without a word).
MAX_CHAR_ORDER = 10
MAX_WORD_ORDER = 4  # BLEU's word n-gram order
MAX_BETA = 10


class ChrfConfig(MetricConfigBase):
    name: Literal["chrf", "chrf++"]
    char_order: int = Field(strict=True, default=6, ge=1, le=MAX_CHAR_ORDER)
    word_order: int | None = Field(
        strict=True, default=None, ge=0, le=MAX_WORD_ORDER, description="default 0 for chrf, 2 for chrf++"
    )
    beta: int = Field(strict=True, default=2, ge=0, le=MAX_BETA)
    lowercase: bool = False
    whitespace: bool = False
    eps_smoothing: bool = False


class ChrfMetric(Metric):
    cfg: ChrfConfig
    cost = 2

    @property
    def word_order(self) -> int:
        if self.cfg.word_order is not None:
            return self.cfg.word_order
        return 2 if self.cfg.name == "chrf++" else 0

    def default_label(self) -> str:
        return f"chrF{self.cfg.beta}" + "+" * self.word_order

    def build(self, target_lang: str) -> CHRF:
        return CHRF(
            char_order=self.cfg.char_order,
            word_order=self.word_order,
            beta=self.cfg.beta,
            lowercase=self.cfg.lowercase,
            whitespace=self.cfg.whitespace,
            eps_smoothing=self.cfg.eps_smoothing,
        )

    def options(self) -> dict:
        return {**super().options(), "word_order": self.word_order}

"""chrF and chrF++ (sacrebleu.metrics.CHRF); chrF++ is chrF with word bigrams (word_order=2)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sacrebleu.metrics import CHRF

from evalharness.metrics.base import Metric, MetricConfigBase


class ChrfConfig(MetricConfigBase):
    name: Literal["chrf", "chrf++"]
    char_order: int = Field(strict=True, default=6, ge=1)
    word_order: int | None = Field(strict=True, default=None, ge=0, description="default 0 for chrf, 2 for chrf++")
    beta: int = Field(strict=True, default=2, ge=0)
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

"""chrF and chrF++ (sacrebleu.metrics.CHRF); chrF++ is chrF with word bigrams (word_order=2)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from sacrebleu.metrics import CHRF

from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import MetricConfigBase, SacrebleuMetric

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


class ChrfMetric(SacrebleuMetric):
    cfg: ChrfConfig
    sacrebleu_class = CHRF
    cost = 2

    @property
    def word_order(self) -> int:
        if self.cfg.word_order is not None:
            return self.cfg.word_order
        return 2 if self.cfg.name == "chrf++" else 0

    def default_label(self) -> str:
        return f"chrF{self.cfg.beta}" + "+" * self.word_order

    def human_curve(self, target_lang: str) -> str | None:
        """chrF with sacrebleu's defaults (character 6-grams, beta 2) is `chrf`; chrF++ and other settings have no
        curve."""
        cfg = self.cfg
        default = (cfg.char_order, self.word_order, cfg.beta) == (6, 0, 2)
        return "chrf" if default and not (cfg.lowercase or cfg.whitespace or cfg.eps_smoothing) else None

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

    @staticmethod
    def fast_scores(metric: CHRF, sums: np.ndarray) -> np.ndarray | None:
        return resample_scores(metric, sums)

    @staticmethod
    def vectorised(metric: CHRF) -> bool:
        return not metric.eps_smoothing


def resample_scores(scorer: CHRF, sums: np.ndarray) -> np.ndarray | None:
    """The score of every row of summed statistics (bootstrap and permutation resamples), equal to sacrebleu's
    row by row, dtype included: CHRF._compute_f_score, vectorised in the same dtype and operation order; None with
    eps smoothing."""
    if scorer.eps_smoothing:
        return None
    F = sb.float_type(sums)
    order = scorer.order
    factor = scorer.beta**2
    s = sums.astype(F) if sums.dtype != F else sums  # integers < 2^53 convert exactly, as numpy's division does
    hyp, ref, match = s[:, 0 : 3 * order : 3], s[:, 1 : 3 * order : 3], s[:, 2 : 3 * order : 3]
    edge = ~((hyp > 0) & (ref > 0)).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        prec = match / hyp
        rec = match / ref
        # avg_prec = 0.0; avg_prec += prec (float32 + weak Python float stays float32), one order after another
        avg_prec, avg_rec = prec[:, 0].copy(), rec[:, 0].copy()
        for i in range(1, order):
            avg_prec = avg_prec + prec[:, i]
            avg_rec = avg_rec + rec[:, i]
        avg_prec = avg_prec / F(order)
        avg_rec = avg_rec / F(order)
        edge |= (avg_prec + avg_rec) == 0
        score = (F(1 + factor) * avg_prec) * avg_rec
        score = score / ((F(factor) * avg_prec) + avg_rec)
        values = F(100) * score
    return sb.with_sacrebleu_rows(values, edge, scorer, sums)

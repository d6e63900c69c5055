"""TER (sacrebleu.metrics.TER): an edit rate, so lower is better."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sacrebleu.metrics import TER

from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import MetricConfigBase, SacrebleuMetric


class TerConfig(MetricConfigBase):
    name: Literal["ter"]
    normalized: bool = False
    no_punct: bool = False
    asian_support: bool = False
    case_sensitive: bool = False


class TerMetric(SacrebleuMetric):
    cfg: TerConfig
    sacrebleu_class = TER
    higher_is_better = False
    cost = 20

    def default_label(self) -> str:
        return "TER"

    def build(self, target_lang: str) -> TER:
        return TER(
            normalized=self.cfg.normalized,
            no_punct=self.cfg.no_punct,
            asian_support=self.cfg.asian_support,
            case_sensitive=self.cfg.case_sensitive,
        )

    @staticmethod
    def fast_scores(metric: TER, sums: np.ndarray) -> np.ndarray | None:
        return resample_scores(metric, sums)

    @staticmethod
    def vectorised(metric: TER) -> bool:
        return True


def resample_scores(scorer: TER, sums: np.ndarray) -> np.ndarray:
    """The score of every row of summed statistics (bootstrap and permutation resamples), equal to sacrebleu's
    row by row, dtype included: TER._compute_score_from_stats, vectorised."""
    F = sb.float_type(sums)
    s = sums.astype(F) if sums.dtype != F else sums
    edits, ref_len = s[:, 0], s[:, 1]
    edge = ~(ref_len > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = F(100) * (edits / ref_len)
    return sb.with_sacrebleu_rows(values, edge, scorer, sums)

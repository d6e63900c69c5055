"""TER (sacrebleu.metrics.TER): an edit rate, so lower is better."""

from __future__ import annotations

from typing import Literal

from sacrebleu.metrics import TER

from evalharness.metrics.base import Metric, MetricConfigBase


class TerConfig(MetricConfigBase):
    name: Literal["ter"]
    normalized: bool = False
    no_punct: bool = False
    asian_support: bool = False
    case_sensitive: bool = False


class TerMetric(Metric):
    cfg: TerConfig
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

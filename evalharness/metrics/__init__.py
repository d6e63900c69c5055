"""Metric registry: config name -> (config model, Metric class). One module per metric, as in sacrebleu."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from evalharness.metrics.base import Metric, MetricConfigBase
from evalharness.metrics.bleu import BleuConfig, BleuMetric
from evalharness.metrics.chrf import ChrfConfig, ChrfMetric
from evalharness.metrics.command import CommandConfig, CommandMetric
from evalharness.metrics.embedding import EmbeddingConfig, EmbeddingMetric
from evalharness.metrics.ter import TerConfig, TerMetric

METRICS: dict[str, tuple[type[MetricConfigBase], type[Metric]]] = {
    "bleu": (BleuConfig, BleuMetric),
    "chrf": (ChrfConfig, ChrfMetric),
    "chrf++": (ChrfConfig, ChrfMetric),
    "ter": (TerConfig, TerMetric),
    "embedding": (EmbeddingConfig, EmbeddingMetric),
    "command": (CommandConfig, CommandMetric),
}

MetricConfig = Annotated[
    BleuConfig | ChrfConfig | TerConfig | EmbeddingConfig | CommandConfig, Field(discriminator="name")
]


def make_metric(cfg) -> Metric:
    return METRICS[cfg.name][1](cfg)


__all__ = ["METRICS", "Metric", "MetricConfig", "make_metric"]

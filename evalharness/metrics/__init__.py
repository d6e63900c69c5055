"""Metric registry: config name -> (config model, Metric class). One module per metric, as in sacrebleu.

Adding a metric: a module with its config model (a `name: Literal[...]` field) and its `Metric` class, whose
`scorer` returns a `CorpusScorer` (metrics/protocol.py), and one entry below (and in `MetricConfig` for config
files). Nothing downstream (significance, agreement, analyses, tables) needs to know about it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import Metric, MetricConfigBase, SacrebleuMetric
from evalharness.metrics.bleu import BleuConfig, BleuMetric
from evalharness.metrics.chrf import ChrfConfig, ChrfMetric
from evalharness.metrics.command import CommandConfig, CommandMetric
from evalharness.metrics.embedding import EmbeddingConfig, EmbeddingMetric
from evalharness.metrics.protocol import CorpusScorer
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


def scorer_for(metric: Any, target_lang: str = "", n_refs: int = 1) -> CorpusScorer:
    """The `CorpusScorer` of a configured metric, of a sacrebleu metric object (the registered metric of its
    class gives the direction and the fast path; its number of references is left as it is), or a scorer itself."""
    if isinstance(metric, Metric):
        return metric.scorer(target_lang, n_refs)
    if sb.is_metric(metric):
        for _, kind in METRICS.values():
            if issubclass(kind, SacrebleuMetric) and isinstance(metric, kind.sacrebleu_class):
                return kind.wrap(metric)
        return sb.SacrebleuScorer(metric, higher_is_better=True)
    if isinstance(metric, CorpusScorer):
        return metric
    raise TypeError(
        f"expected an evalharness metric, a sacrebleu metric or a CorpusScorer, got {type(metric).__name__}"
    )


__all__ = ["METRICS", "CorpusScorer", "Metric", "MetricConfig", "make_metric", "scorer_for"]

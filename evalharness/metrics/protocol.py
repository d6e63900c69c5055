"""What every metric is to the rest of evalharness: a `CorpusScorer`.

A corpus metric is a function of summed per-segment statistics (sacrebleu's design): BLEU sums n-gram counts, chrF
character n-gram counts, TER edits and reference lengths, a segment-level metric `[score, 1.0]` (so the sum's ratio
is the mean). Everything downstream of scoring works on those statistics and nothing else: bootstrap CIs and
paired tests resample and sum them, agreement with humans rescores resamples, the analyses score buckets of
segments, the tables read the scores. So none of those modules needs to know which metric it has; they call the
methods below. `Metric.scorer(target_lang, n_refs)` (metrics/base.py) gives the scorer of a configured metric;
`evalharness.metrics.scorer_for` also takes a sacrebleu object.

Implementations: `sacrebleu_adapter.SacrebleuScorer` (BLEU, chrF, TER, with each metric's vectorised resample
scores beside it in bleu.py, chrf.py, ter.py) and `segment.SegmentScorer` (embedding, command).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

Key = TypeVar("Key", bound=Hashable)

# A score as the metric computes it: a Python float, or a numpy float32 (chrF's, as sacrebleu keeps it; the paired
# tests subtract such scores in float32, as sacrebleu does, so they are not converted before the end).
RawScore = Any


@dataclass(frozen=True)
class SegmentInputs:
    """What some metrics need besides references and hypotheses: the sources and their language (reference-free
    metrics), whether a metric may keep what it computes in the cache folder (embeddings), and whether there is
    enough work for compiled n-gram counting (a choice of speed, never of numbers)."""

    sources: list[str] | None = None
    source_lang: str | None = None
    use_cache: bool = True
    compiled: bool = True


@runtime_checkable
class CorpusScorer(Protocol):
    """One metric, built for one target language and number of references.

    Statistics are lists of numbers per segment; their aggregate is the column-wise sum (a segment-level metric's
    `[score, 1.0]` sums to `[total, segments]`, whose ratio is the mean). Resampling code sums statistics itself
    (bootstrap: float32 sums, as sacrebleu; approximate randomization: integer or float64 sums) and asks the
    scorer for the score of every summed row.
    """

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction (TER: False)."""
        ...

    @property
    def vectorised(self) -> bool:
        """Whether `resample_scores` is numpy arithmetic (True) or a Python loop per row (a process pool pays)."""
        ...

    def segment_statistics(
        self, references: list[list[str]], systems: Mapping[Key, list[str]], inputs: SegmentInputs
    ) -> dict[Key, list]:
        """Per system, the statistics of every segment (`references[k][i]`: stream k, segment i)."""
        ...

    def corpus_score(self, stats: Sequence) -> RawScore:
        """The corpus score of per-segment statistics (their sum, scored): what `corpus_score` on the texts gives."""
        ...

    def score_from_stats(self, sums: Sequence[float] | np.ndarray) -> RawScore:
        """The score of already summed statistics: one segment (a sentence score) or one resample."""
        ...

    def resample_scores(self, sums: np.ndarray) -> np.ndarray:
        """`score_from_stats` of every row of a (resamples, statistics) array, equal to it element for element and
        in dtype (the array numpy makes of the row scores)."""
        ...

    def signature(self) -> str:
        """What identifies the numbers (sacrebleu's `nrefs:1|case:mixed|...`)."""
        ...


__all__ = ["CorpusScorer", "RawScore", "SegmentInputs"]

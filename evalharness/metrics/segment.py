"""Segment-level metrics: one float per segment (learned metrics, embedding similarity, external scorers), whose
corpus score is the mean.

They join sacrebleu's metrics in everything downstream by having the same shape of statistics: a segment's
statistics are ``[score, 1.0]``, so the corpus statistics (the sum) are ``[sum of scores, segments]`` and the
score is their ratio. Bootstrap resamples, paired tests, ranks and agreement with humans then run on them with
the same seeds and the same resample indices as BLEU's in the same run (significance.py needs no branch).

A metric of this family is a `SegmentMetric` (its config model and `segment_scores`) in one module of the
registry; its `SegmentScorer` is its `CorpusScorer` (metrics/protocol.py).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np

from evalharness.errors import UserError
from evalharness.metrics.base import Metric
from evalharness.metrics.protocol import SegmentInputs

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class SegmentSignature:
    """The sacrebleu-style signature: `key:value|...`, with what changes the numbers (the metric's name is in
    the score's label, as with sacrebleu's)."""

    name: str
    fields: tuple[tuple[str, str], ...]

    def format(self) -> str:
        return "|".join(f"{key}:{value}" for key, value in self.fields)


class SegmentScorer:
    """A segment-level metric as a `CorpusScorer` (metrics/protocol.py): the mean of segment scores, from
    statistics `[score, 1.0]`. Built by its metric (`SegmentMetric.scorer`) it also computes the statistics."""

    vectorised = True

    def __init__(
        self,
        name: str,
        fields: Sequence[tuple[str, str]],
        metric: SegmentMetric | None = None,
        target_lang: str = "",
        higher_is_better: bool = True,
        n_refs: int = 1,
    ):
        self.name = name
        self.n_refs = n_refs  # part of the signature, as sacrebleu's `nrefs`
        self.fields = tuple(fields)
        self.metric = metric
        self.target_lang = target_lang
        self.higher_is_better = higher_is_better

    def segment_statistics(
        self, references: list[list[str]], systems: Mapping[Key, list[str]], inputs: SegmentInputs
    ) -> dict[Key, list]:
        """Every system's segment scores at once (a model batches them), as statistics `[score, 1.0]`."""
        if self.metric is None:
            raise TypeError("segment_statistics needs a scorer built by its metric (SegmentMetric.scorer)")
        scores = self.metric.segment_scores(
            self.target_lang, references, systems, inputs.sources, inputs.source_lang, inputs.use_cache
        )
        return {name: self.metric.statistics(scores[name]) for name in systems}

    def corpus_score(self, stats: Sequence[Sequence[float]]) -> float:
        """The corpus score: the mean of the segment scores (Python floats, summed in order)."""
        total = 0.0
        count = 0.0
        for score, weight in stats:
            total += float(score)
            count += float(weight)
        return total / count if count else 0.0

    def score_from_stats(self, sums: Sequence[float] | np.ndarray) -> float:
        """The score of summed statistics (one segment, or one bootstrap resample)."""
        return float(sums[0]) / float(sums[1]) if float(sums[1]) else 0.0

    def resample_scores(self, sums: np.ndarray) -> np.ndarray:
        """`score_from_stats` of every row at once (the same float64 division)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            values = sums[:, 0].astype(np.float64) / sums[:, 1].astype(np.float64)
        return np.where(sums[:, 1] != 0, values, 0.0)

    def get_signature(self) -> SegmentSignature:
        return SegmentSignature(self.name, (("nrefs", str(self.n_refs)), *self.fields))

    def signature(self) -> str:
        return self.get_signature().format()


class SegmentMetric(Metric):
    """A metric that scores each segment on its own. `segment_scores` gets every system's hypotheses of one
    level at once, so a model can batch them and score a text shared by several systems once."""

    cost: ClassVar[int] = 0  # computed in this process, batched, not in the scoring workers
    batched: ClassVar[bool] = True

    @abstractmethod
    def segment_scores(
        self,
        target_lang: str,
        references: list[list[str]],
        systems: Mapping[Key, list[str]],
        sources: list[str] | None,
        source_lang: str | None,
        use_cache: bool = True,
    ) -> dict[Key, list[float]]:
        """Per system, one score per segment (0-100 scale, `higher_is_better` as declared). `use_cache`: whether
        the metric may keep what it computes (embeddings) in the cache folder."""

    @abstractmethod
    def signature_fields(self) -> list[tuple[str, str]]:
        """What identifies the numbers besides the number of references: model, its hash, versions, options."""

    def build(self, target_lang: str) -> SegmentScorer:
        return self.scorer(target_lang)

    def scorer(self, target_lang: str, n_refs: int = 1) -> SegmentScorer:
        fields = self.signature_fields()
        return SegmentScorer(self.default_label(), fields, self, target_lang, self.higher_is_better, n_refs)

    def check(self, target_lang: str) -> None:
        """Load what the metric needs before any system runs (a missing package or model fails here)."""
        try:
            self.build(target_lang)
        except UserError:
            raise
        except Exception as err:
            raise UserError(f"metric {self.label}: {type(err).__name__}: {err}") from err

    def statistics(self, scores: list[float]) -> list[list[float]]:
        """A segment's statistics from its score: [score, 1.0]."""
        return [[float(score), 1.0] for score in scores]


__all__ = ["SegmentMetric", "SegmentScorer", "SegmentSignature"]

"""The shape of a metric: its config, its scorer (a `CorpusScorer`), its direction and a fingerprint for caching.

`Metric` is what the registry (metrics/__init__.py) makes from a config; `SacrebleuMetric` is one whose numbers
come from a sacrebleu object (BLEU, chrF, TER), `segment.SegmentMetric` one that scores each segment on its own.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import sacrebleu
from pydantic import Field

from evalharness.configtypes import Strict
from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.protocol import CorpusScorer, SegmentInputs
from evalharness.metrics.sacrebleu_adapter import ensure_supported


class MetricConfigBase(Strict):
    label: str | None = Field(default=None, description="column name; defaults to sacrebleu's score name")


class Metric(ABC):
    """One configured metric. Stateless: builds fresh scorers on demand (also in workers)."""

    higher_is_better: ClassVar[bool] = True
    # Relative cost per segment, to schedule the slow metrics first.
    cost: ClassVar[int] = 1
    # True: statistics of every system at once, in this process (a model that batches); False: in chunks of
    # segments, in worker processes.
    batched: ClassVar[bool] = False
    # True: the score depends on the sources (a reference-free metric), so they are part of its input and key.
    uses_sources: ClassVar[bool] = False

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
    def scorer(self, target_lang: str, n_refs: int = 1) -> CorpusScorer:
        """What scoring, significance, agreement and the analyses call (metrics/protocol.py); `n_refs` is part of
        the signature."""

    def sentence_scorer(self, target_lang: str, n_refs: int = 1) -> CorpusScorer:
        """The scorer of sentence-level scores (BLEU scores sentences with effective order)."""
        return self.scorer(target_lang, n_refs)

    def check(self, target_lang: str) -> None:
        """Build the scorer and score one segment, before any model runs: a metric that cannot compute fails here
        in one line, not after the translations."""
        try:
            scorer = self.scorer(target_lang)
            stats = scorer.segment_statistics([["a b x y"]], {"check": ["a b c d"]}, SegmentInputs(compiled=False))
            scorer.corpus_score(stats["check"])
        except UserError:
            raise
        except Exception as err:
            raise UserError(f"metric {self.label} for target language {target_lang}: {one_line(err)}") from err

    def human_curve(self, target_lang: str) -> str | None:
        """The name of this metric's curve in `mt_thresholds` (Kocmi et al. 2024: a delta as the share of system
        pairs on which humans agree), where the package fitted one for this very metric; None: no curve."""
        return None

    def options(self) -> dict:
        return self.cfg.model_dump(exclude={"label"})

    def fingerprint(self, target_lang: str) -> str:
        """Everything that changes the per-segment statistics: options, target language, sacrebleu version."""
        return json.dumps(
            {"options": self.options(), "target_lang": target_lang, "sacrebleu": sacrebleu.__version__},
            sort_keys=True,
        )


def one_line(err: Exception) -> str:
    """An exception's message on one line (sacrebleu raises RuntimeError, URLError, ValueError... with several)."""
    return " ".join(line.strip() for line in str(err).splitlines() if line.strip()) or type(err).__name__


class SacrebleuMetric(Metric):
    """A metric computed by a sacrebleu object: its statistics, aggregation and arithmetic are sacrebleu's own
    (through metrics/sacrebleu_adapter.py). A subclass names its sacrebleu class and may give an exact vectorised
    `fast_scores` for bootstrap and permutation resamples (`vectorised`: whether it is numpy throughout)."""

    sacrebleu_class: ClassVar[type]

    @abstractmethod
    def build(self, target_lang: str) -> Any:
        """The sacrebleu metric object for corpus-level scores."""

    def build_sentence(self, target_lang: str) -> Any:
        """The sacrebleu metric object for sentence-level scores (BLEU needs effective order there)."""
        return self.build(target_lang)

    @staticmethod
    def fast_scores(metric: Any, sums: np.ndarray) -> np.ndarray | None:
        """The scores of every row of summed statistics, exactly sacrebleu's, or None: no fast path."""
        return None

    @staticmethod
    def vectorised(metric: Any) -> bool:
        return False

    @classmethod
    def wrap(cls, metric: Any, n_refs: int | None = None) -> sb.SacrebleuScorer:
        """A sacrebleu object of this metric's class as a `CorpusScorer`. The fast path only for the class itself
        (a subclass may change the arithmetic); `n_refs` None leaves the object's number of references alone."""
        if n_refs is not None:
            sb.set_num_refs(metric, n_refs)
        if type(metric) is not cls.sacrebleu_class:
            return sb.SacrebleuScorer(metric, cls.higher_is_better)
        return sb.SacrebleuScorer(metric, cls.higher_is_better, cls.fast_scores, cls.vectorised(metric))

    def scorer(self, target_lang: str, n_refs: int = 1) -> sb.SacrebleuScorer:
        return self.wrap(self.build(target_lang), n_refs)

    def sentence_scorer(self, target_lang: str, n_refs: int = 1) -> sb.SacrebleuScorer:
        return self.wrap(self.build_sentence(target_lang), n_refs)

    def check(self, target_lang: str) -> None:
        """Build the metric and score one segment, before any model runs: a tokenizer whose package is missing
        (ja-mecab, ko-mecab), one that must be downloaded offline (spm, flores200) or options sacrebleu cannot
        compute with (a smoothing value of 0 for `floor`) fail here in one line, not after the translations."""
        try:
            self.build(target_lang).corpus_score(["a b c d"], [["a b x y"]])
            self.build_sentence(target_lang).sentence_score("a b c d", ["a b x y"])
        except Exception as err:  # sacrebleu raises RuntimeError, URLError, ValueError, ... with several lines
            detail = one_line(err)
            if isinstance(err, OSError) and "urlopen" in str(err):
                detail += " (it downloads a model on first use; this machine is offline or cannot reach it)"
            raise UserError(f"metric {self.label} for target language {target_lang}: {detail}") from err

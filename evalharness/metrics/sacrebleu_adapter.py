"""The one place that uses sacrebleu's private names.

Scores are sacrebleu's own because evalharness calls sacrebleu's internal methods (per-segment statistics,
aggregation, the p-value of its paired tests, its WMT XML reader and download paths) instead of copying them.
Those names are not sacrebleu's API and may change in any release, so every use goes through the small functions
below, and `check_version` refuses, in one line and before any work, a sacrebleu these functions were not
written against or one that lacks a name they need (instead of an AttributeError, or a silently different
number, in the middle of a run). No other module of evalharness touches a private sacrebleu name
(tests/test_sacrebleu_adapter.py checks it).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sacrebleu

from evalharness.errors import UserError
from evalharness.metrics.protocol import Key, RawScore, SegmentInputs

# The releases whose internals the functions below were written and tested against (2.6.0). pyproject.toml pins
# the same range; widen both only after the tests pass on the new release (significance.py copies sacrebleu's
# resampling call for call, so a release that changes it changes numbers without failing any hasattr).
LOWEST = (2, 6)
BELOW = (2, 7)
SUPPORTED = f">={LOWEST[0]}.{LOWEST[1]},<{BELOW[0]}.{BELOW[1]}"

# What the functions below use that is not sacrebleu's public API: (module, object, attribute).
_METRIC_METHODS = (
    "_cache_references",
    "_preprocess_segment",
    "_compute_segment_statistics",
    "_aggregate_and_compute",
    "_compute_score_from_stats",
)
REQUIRED: tuple[tuple[str, str, str], ...] = (
    *(
        (f"sacrebleu.metrics.{module}", cls, name)
        for module, cls in (("bleu", "BLEU"), ("chrf", "CHRF"), ("ter", "TER"))
        for name in _METRIC_METHODS
    ),
    ("sacrebleu.metrics.bleu", "BLEU", "TOKENIZERS"),
    ("sacrebleu.metrics.bleu", "BLEU", "_TOKENIZER_MAP"),
    ("sacrebleu.metrics.bleu", "BLEU", "TOKENIZER_DEFAULT"),
    # The compiled n-gram counting (cache_references, segment_statistics) calls these for sacrebleu's choices.
    ("sacrebleu.metrics.bleu", "BLEU", "_extract_reference_info"),
    ("sacrebleu.metrics.bleu", "BLEU", "_get_closest_ref_len"),
    ("sacrebleu.metrics.chrf", "CHRF", "_extract_reference_info"),
    ("sacrebleu.metrics.chrf", "CHRF", "_remove_punctuation"),
    ("sacrebleu.metrics.chrf", "CHRF", "_compute_f_score"),
    ("sacrebleu.significance", "", "_compute_p_value"),
    ("sacrebleu.dataset.base", "Dataset", "_get_tarball_filename"),
    ("sacrebleu.dataset.wmt_xml", "WMTXMLDataset", "_unwrap_wmt21_or_later"),
    ("sacrebleu.dataset.wmt_xml", "WMTXMLDataset", "_clean"),
)

_checked = False


# ------------------------------------------------------------------------------------------------ the check


def installed_version() -> str:
    """sacrebleu's version string, read when asked (so that a test can change it)."""
    return sacrebleu.__version__


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version string: '2.6.0' -> (2, 6, 0), '3.0.0rc1' -> (3, 0, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _unsupported(why: str) -> UserError:
    return UserError(f"{why}: evalharness needs sacrebleu {SUPPORTED} (pip install 'sacrebleu{SUPPORTED}')")


def _missing_names() -> list[str]:
    """The entries of REQUIRED (and the instance attributes the functions below use) this sacrebleu lacks."""
    missing = []
    for module_name, obj_name, attr in REQUIRED:
        where = f"{module_name}.{obj_name}" if obj_name else module_name
        try:
            obj = importlib.import_module(module_name)
            if obj_name:
                obj = getattr(obj, obj_name)
        except (ImportError, AttributeError):
            if where not in missing:
                missing.append(where)
            continue
        # Only the base class's abstract method left means the metric class no longer implements it.
        if not hasattr(obj, attr) or getattr(getattr(obj, attr), "__isabstractmethod__", False):
            missing.append(f"{where}.{attr}")
    if missing:
        return missing
    # Instance attributes exist only on objects: the raw folder of a (not downloaded) test set, and the number
    # of references, which `_cache_references` sets and the signature reads. Both checks cost microseconds.
    from sacrebleu.dataset import DATASETS
    from sacrebleu.metrics.chrf import CHRF

    if not all(hasattr(dataset, "_rawdir") for dataset in DATASETS.values()):
        missing.append("sacrebleu.dataset.base.Dataset._rawdir")
    scorer = CHRF()
    scorer._cache_references([["a"]])
    if not hasattr(scorer, "num_refs"):
        missing.append("sacrebleu.metrics.base.Metric.num_refs")
    return missing


def check_version() -> None:
    """Raise a one-line UserError unless the installed sacrebleu is one this module was written against and has
    every private name it uses."""
    version = installed_version()
    if not LOWEST <= _release(version) < BELOW:
        raise _unsupported(f"sacrebleu {version} is not supported")
    missing = _missing_names()
    if missing:
        raise _unsupported(f"sacrebleu {version} is not supported (it has no {', '.join(missing)})")


def ensure_supported() -> None:
    """`check_version` once per process. Called where a metric is made (config validation, plan, `score`), so a
    wrong sacrebleu fails before any dataset is read or any system runs, and where a dataset is read through
    sacrebleu (also without metrics)."""
    global _checked
    if not _checked:
        check_version()
        _checked = True


# ------------------------------------------------------------------------------------------------- metrics


def bleu_tokenizers() -> list[str]:
    """The names BLEU accepts for `tokenize` (public: `BLEU.TOKENIZERS`), to validate configs."""
    from sacrebleu.metrics import BLEU

    return list(BLEU.TOKENIZERS)


def bleu_default_tokenizer(target_lang: str) -> str:
    """The tokenizer BLEU picks when none is named (`tokenize: auto`): its own table, so a sacrebleu that
    changes a default changes it here too."""
    from sacrebleu.metrics import BLEU

    return BLEU._TOKENIZER_MAP.get(target_lang, BLEU.TOKENIZER_DEFAULT)


def cache_references(scorer, references: Sequence[Sequence[str]], compiled: bool = True) -> list:
    """Per segment, the preprocessed references (`references[k][i]`: stream k, segment i), computed once and
    shared by every system's hypotheses. Also sets the scorer's number of references, as `corpus_score` does.
    For BLEU and chrF with the compiled n-gram counting (`ngram_backend()`, and `compiled`: the caller's choice
    for enough work), a segment's entry is its `ngram_compiled.ReferenceTable` (sacrebleu's own entry where the
    table does not fit)."""
    if not (
        compiled and isinstance(scorer, (sacrebleu.metrics.BLEU, sacrebleu.metrics.CHRF)) and ngram_backend() == "numba"
    ):
        return scorer._cache_references(references)
    from evalharness.metrics import ngram_compiled

    ref_cache = []
    num_refs = set()
    for refs in zip(*references, strict=True):  # sacrebleu's `_cache_references`, step for step
        lines = [x for x in refs if x is not None]
        num_refs.add(len(lines))
        lines = [scorer._preprocess_segment(x) for x in lines]
        if isinstance(scorer, sacrebleu.metrics.BLEU):
            table = ngram_compiled.bleu_references(lines, scorer.max_ngram_order)
        else:
            words = [scorer._remove_punctuation(x) for x in lines] if scorer.word_order > 0 else []
            table = ngram_compiled.chrf_references(
                lines, scorer.char_order, scorer.whitespace, scorer.word_order, words
            )
        ref_cache.append(table if table.fits else scorer._extract_reference_info(lines))
    scorer.num_refs = next(iter(num_refs)) if len(num_refs) == 1 else -1
    return ref_cache


def segment_statistics(scorer, hypothesis: str, ref_info: Any) -> list:
    """The sufficient statistics of one hypothesis against one segment's cached references (`cache_references`),
    exactly what `corpus_score` sums. TER's come from the compiled port of its shift search when numba is there
    (`ter_backend()`), BLEU's and chrF's from compiled n-gram counting (`ngram_backend()`): the same numbers,
    faster (TER 25-50 times, chrF about 5 times)."""
    if ter_backend() == "numba" and isinstance(scorer, sacrebleu.metrics.TER):
        from evalharness.metrics import ter_compiled

        return ter_compiled.statistics_from_words(scorer._preprocess_segment(hypothesis).split(), ref_info["ref_words"])
    if not isinstance(ref_info, dict):  # a ReferenceTable from `cache_references`
        from evalharness.metrics import ngram_compiled

        hypothesis = scorer._preprocess_segment(hypothesis)
        if isinstance(scorer, sacrebleu.metrics.BLEU):
            return ngram_compiled.bleu_statistics(hypothesis.split(), ref_info, scorer._get_closest_ref_len)
        line = hypothesis if scorer.whitespace else "".join(hypothesis.split())
        words = scorer._remove_punctuation(hypothesis) if scorer.word_order > 0 else None
        return ngram_compiled.chrf_statistics(line, words, ref_info, scorer._compute_f_score)
    return scorer._compute_segment_statistics(scorer._preprocess_segment(hypothesis), ref_info)


_TER_BACKEND: str | None = None
_NGRAM_BACKEND: str | None = None


def warm_up_compiled(ngrams: bool = True) -> None:
    """Compile (or load from numba's cache) the compiled TER and (with `ngrams`) n-gram counting in this process,
    before it forks scoring workers that would otherwise each compile them."""
    if ter_backend() == "numba":
        from evalharness.metrics import ter_compiled

        ter_compiled.translation_edit_rate(["a", "b"], ["b", "a"])
    if ngrams and ngram_backend() == "numba":
        segment_statistics(sacrebleu.metrics.BLEU(), "a b", cache_references(sacrebleu.metrics.BLEU(), [["a b"]])[0])
        chrf = sacrebleu.metrics.CHRF(word_order=2)
        segment_statistics(chrf, "a b", cache_references(chrf, [["a b"]])[0])


def ter_backend() -> str:
    """How TER statistics are computed in this process, chosen once: "numba" (evalharness.metrics.ter_compiled)
    or "sacrebleu" (its own Python) when numba cannot be imported or EVALHARNESS_TER=sacrebleu asks for it. The
    numbers are the same either way (tests/test_ter_compiled.py); the manifest records which ran."""
    global _TER_BACKEND
    if _TER_BACKEND is None:
        from evalharness.metrics import ter_compiled

        wanted = os.environ.get("EVALHARNESS_TER", "numba")
        _TER_BACKEND = "numba" if wanted != "sacrebleu" and ter_compiled.available() else "sacrebleu"
    return _TER_BACKEND


def ngram_backend() -> str:
    """How BLEU's and chrF's statistics are counted in this process, chosen once: "numba"
    (evalharness.metrics.ngram_compiled) or "sacrebleu" (its own `Counter`s) when numba cannot be imported or
    EVALHARNESS_NGRAMS=sacrebleu asks for it. The numbers are the same either way (tests/test_ngram_compiled.py);
    the manifest records which ran."""
    global _NGRAM_BACKEND
    if _NGRAM_BACKEND is None:
        from evalharness.metrics import ngram_compiled

        wanted = os.environ.get("EVALHARNESS_NGRAMS", "numba")
        _NGRAM_BACKEND = "numba" if wanted != "sacrebleu" and ngram_compiled.available() else "sacrebleu"
    return _NGRAM_BACKEND


def set_num_refs(scorer, n_refs: int) -> None:
    """Tell a scorer built fresh how many references the statistics had: `cache_references` sets it when the
    statistics are computed, but they may come from the cache or a worker, and the signature (`#:`) reads it."""
    scorer.num_refs = n_refs


def aggregate(scorer, stats: Sequence) -> Any:
    """The corpus score (a sacrebleu Score) from per-segment statistics: `corpus_score` without re-scoring."""
    return scorer._aggregate_and_compute(list(stats))


def score_from_stats(scorer, stats: Any) -> Any:
    """The score (a sacrebleu Score) of summed statistics: one sentence, or one resample of the corpus (float32
    sums, as sacrebleu's bootstrap makes them). The scorer's own arithmetic, so edge cases stay sacrebleu's."""
    return scorer._compute_score_from_stats(stats)


def p_value(differences, real_difference: float) -> float:
    """sacrebleu's p-value of a paired test: (resamples whose |difference| exceeds the real one + 1) / (N + 1)."""
    from sacrebleu import significance

    return significance._compute_p_value(differences, real_difference)


# ------------------------------------------------------------------------------------ the CorpusScorer

# A metric's vectorised resample scores (bleu.py, chrf.py, ter.py): the sacrebleu object and the summed statistics
# -> the scores, or None where it has no exact fast path for these options.
FastScores = Callable[[Any, np.ndarray], np.ndarray | None]


def is_metric(obj: object) -> bool:
    """Whether `obj` is a sacrebleu metric object (the API and the tests may pass one instead of a config)."""
    return isinstance(obj, sacrebleu.metrics.base.Metric)


class SacrebleuScorer:
    """A sacrebleu metric object as a `CorpusScorer`: its own statistics, aggregation and score arithmetic, so
    every number is sacrebleu's. `fast`: the metric module's vectorised `resample_scores` (exact, or None for
    options it does not cover); `vectorised`: whether that fast path is numpy arithmetic throughout."""

    def __init__(self, metric: Any, higher_is_better: bool, fast: FastScores | None = None, vectorised: bool = False):
        self.metric = metric
        self.higher_is_better = higher_is_better
        self.fast = fast
        self.vectorised = vectorised and fast is not None

    def segment_statistics(
        self, references: list[list[str]], systems: Mapping[Key, list[str]], inputs: SegmentInputs
    ) -> dict[Key, list]:
        """References preprocessed once per segment and shared by every system; identical hypotheses of a segment
        (common across MT systems) scored once."""
        ref_infos = cache_references(self.metric, references, inputs.compiled)
        out: dict[Key, list] = {name: [] for name in systems}
        for i, ref_info in enumerate(ref_infos):
            seen: dict[str, list] = {}
            for name, hyps in systems.items():
                hyp = hyps[i]
                stats = seen.get(hyp)
                if stats is None:
                    stats = seen[hyp] = segment_statistics(self.metric, hyp, ref_info)
                out[name].append(stats)
        return out

    def corpus_score(self, stats: Sequence) -> RawScore:
        return aggregate(self.metric, stats).score

    def score_from_stats(self, sums: Any) -> RawScore:
        return score_from_stats(self.metric, sums).score

    def resample_scores(self, sums: np.ndarray) -> np.ndarray:
        values = self.fast(self.metric, sums) if self.fast is not None and len(sums) else None
        if values is None:
            values = np.array([score_from_stats(self.metric, row.copy()).score for row in sums])
        return values

    def signature(self) -> str:
        return self.metric.get_signature().format()


def float_type(sums: np.ndarray) -> type[np.floating]:
    """The dtype sacrebleu's score arithmetic ends up in: float32 statistics (the bootstrap's sums) stay float32;
    integer and float64 statistics (the AR test's pseudo-systems) give float64."""
    return np.float32 if sums.dtype == np.float32 else np.float64


def with_sacrebleu_rows(values: np.ndarray, edge: np.ndarray, metric: Any, sums: np.ndarray) -> np.ndarray:
    """A vectorised result with the rows flagged `edge` (zero counts, empty references: sacrebleu's branches)
    scored by sacrebleu itself; the array gets the dtype `np.array` would give sacrebleu's list of scores (a
    Python float among float32 scores makes it float64)."""
    rows = np.flatnonzero(edge)
    if rows.size == 0:
        return values
    theirs = [score_from_stats(metric, sums[r].copy()).score for r in rows]
    dtype = np.array([values.dtype.type(0), *theirs]).dtype
    values = values.astype(dtype)
    values[rows] = theirs
    return values


# ------------------------------------------------------------------------------------------------ datasets


def read_wmt_xml(path: str) -> dict[str, list]:
    """sacrebleu's reading of a WMT21+ XML test set (src, ref:A, docid, origlang, domain, systems...), so
    segments and skipped test-suite documents match `sacrebleu -t`."""
    ensure_supported()
    from sacrebleu.dataset.wmt_xml import WMTXMLDataset

    return WMTXMLDataset._unwrap_wmt21_or_later(path)


def clean_segment(text: str) -> str:
    """sacrebleu's cleaning of a test-set segment (whitespace runs, NBSP included, collapsed to one space), which
    `sacrebleu -t` applies when it writes a test set's text files."""
    from sacrebleu.dataset.wmt_xml import WMTXMLDataset

    return WMTXMLDataset._clean(text)


def raw_dir(dataset) -> str:
    """The folder where sacrebleu downloads and extracts a named test set, for the offline error message."""
    return dataset._rawdir


def tarball_path(dataset, url: str) -> str:
    """Where sacrebleu looks for the downloaded archive `url` of a named test set before downloading it."""
    return os.path.join(dataset._rawdir, dataset._get_tarball_filename(url))

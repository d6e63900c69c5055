"""Scoring many systems against one set of references, exactly as sacrebleu does, but faster.

sacrebleu computes a corpus score from per-segment sufficient statistics (n-gram matches for BLEU, character
n-gram matches for chrF, edits and reference length for TER). We compute the same statistics with sacrebleu's
own methods and sum them with sacrebleu's own aggregation, so every number is sacrebleu's. What we add:

- references are preprocessed once per chunk of segments and shared by every system;
- identical hypotheses of a segment (common across MT systems) are scored once;
- chunks of segments run in parallel processes (TER, the slow one, dominates the cost);
- statistics can be cached, keyed by metric options, references and hypotheses.

The per-segment statistics are kept: sentence scores, bootstrap resampling and significance tests reuse them.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from concurrent.futures import as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

from evalharness.cache import Store, digest
from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import Metric
from evalharness.metrics.protocol import SegmentInputs
from evalharness.progress import Progress
from evalharness.textio import check_stream
from evalharness.workers import process_pool

# A system's key in the hypotheses and results: its name, or the runner's cell id.
SystemKey = TypeVar("SystemKey", bound=Hashable)

# Below this much work (segments x systems x metric cost), a process pool costs more than it saves.
PARALLEL_THRESHOLD = 10_000
# Below this many hypothesis segments (segments x systems), BLEU and chrF are counted by sacrebleu's own code.
COMPILED_NGRAMS_MIN = 5_000


@dataclass
class MetricResult:
    metric: str
    direction: str
    score: float
    signature: str
    stats: list
    sentence_scores: list[float] | None = None
    cached: bool = False


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_shapes(references: list[list[str]], systems: Mapping[Any, list[str]]) -> int:
    """References are streams (references[k][i]); every stream and hypothesis list has the same length."""
    if isinstance(references, str) or not isinstance(references, (list, tuple)) or not references:
        raise UserError("references: expected a non-empty list of reference streams")
    if all(isinstance(r, str) for r in references):
        raise UserError("references: got a flat list of strings; wrap it as [references] (one stream)")
    n = len(references[0])
    for k, stream in enumerate(references):
        check_stream(stream, n, f"reference stream {k + 1}")
    for name, hyps in systems.items():
        check_stream(hyps, n, f"system {name}")
    return n


def _segment_stats(job) -> tuple[int, int, dict[Any, list]]:
    """Worker: statistics of one metric on one chunk of segments for every system."""
    metric, target_lang, m_index, start, ref_chunk, hyp_chunks, compiled = job
    scorer = metric.scorer(target_lang, len(ref_chunk))
    return m_index, start, scorer.segment_statistics(ref_chunk, hyp_chunks, SegmentInputs(compiled=compiled))


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    size = max(1, -(-n // parts))
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def segment_statistics(
    metrics: list[Metric],
    target_lang: str,
    references: list[list[str]],
    systems: dict[SystemKey, list[str]],
    workers: int = 1,
    progress: Progress | None = None,
    desc: str = "",
    sources: list[str] | None = None,
    source_lang: str | None = None,
    use_cache: bool = True,
) -> list[dict[SystemKey, list]]:
    """Per metric, per system: the list of per-segment statistics, in segment order. `progress` shows a bar over
    the jobs (segment chunks x metrics). Batched metrics (learned, embedding: `Metric.batched`) score in this
    process, all systems at once; the others (sacrebleu's) in chunks, in worker processes."""
    check_shapes(references, systems)
    merged: list[dict[SystemKey, list] | None] = [None] * len(metrics)
    chunked = [(m, metric) for m, metric in enumerate(metrics) if not metric.batched]
    if chunked:
        found = _chunked_statistics(
            [metric for _, metric in chunked], target_lang, references, systems, workers, progress, desc
        )
        for (m, _), stats in zip(chunked, found, strict=True):
            merged[m] = stats
    inputs = SegmentInputs(sources, source_lang, use_cache)
    for m, metric in enumerate(metrics):
        if metric.batched:
            with (progress or Progress.silent()).bar(1, f"{desc} {metric.label}".strip(), unit="metric") as bar:
                scorer = metric.scorer(target_lang, len(references))
                merged[m] = scorer.segment_statistics(references, systems, inputs)
                bar.update(1)
    return [stats for stats in merged if stats is not None]


def _chunked_statistics(
    metrics: list[Metric],
    target_lang: str,
    references: list[list[str]],
    systems: dict[SystemKey, list[str]],
    workers: int,
    progress: Progress | None,
    desc: str,
) -> list[dict[SystemKey, list]]:
    n = check_shapes(references, systems)
    work = n * len(systems) * sum(metric.cost for metric in metrics)
    parallel = workers > 1 and work >= PARALLEL_THRESHOLD
    # Loading the compiled n-gram counting (numba) costs ~0.8 s a process; below this many hypotheses sacrebleu's
    # own counting is faster. The numbers are the same either way.
    compiled = n * len(systems) >= COMPILED_NGRAMS_MIN
    spans = _chunks(n, workers * 32) if parallel else [(0, n)]
    jobs = []
    for m_index, metric in enumerate(metrics):
        for start, end in spans:
            jobs.append(
                (
                    metric,
                    target_lang,
                    m_index,
                    start,
                    [stream[start:end] for stream in references],
                    {name: hyps[start:end] for name, hyps in systems.items()},
                    compiled,
                )
            )
    # The slow metric first, so that no worker is left alone with it at the end.
    jobs.sort(key=lambda job: -job[0].cost)
    progress = progress or Progress.silent()
    results = []
    if parallel:
        sb.warm_up_compiled(ngrams=compiled)
    pool = process_pool(workers) if parallel else None
    with progress.bar(len(jobs), desc, unit="chunk") as bar:
        if pool is not None:
            with pool:
                for future in as_completed([pool.submit(_segment_stats, job) for job in jobs]):
                    results.append(future.result())
                    bar.update(1)
        else:
            for job in jobs:
                results.append(_segment_stats(job))
                bar.update(1)
    merged: list[dict[SystemKey, list]] = [{name: [] for name in systems} for _ in metrics]
    for m_index, _start, out in sorted(results, key=lambda r: (r[0], r[1])):
        for name, stats in out.items():
            merged[m_index][name].extend(stats)
    return merged


def corpus_result(metric: Metric, target_lang: str, n_refs: int, stats: list, sentence: bool) -> MetricResult:
    """The corpus score and signature from per-segment statistics, through the metric's own aggregation
    (sacrebleu's for its metrics)."""
    scorer = metric.scorer(target_lang, n_refs)  # the number of references is part of the signature
    score = scorer.corpus_score(stats)
    sentence_scores = None
    if sentence:
        sent = metric.sentence_scorer(target_lang, n_refs)
        sentence_scores = [float(sent.score_from_stats(s)) for s in stats]
    return MetricResult(
        metric=metric.label,
        direction=metric.direction,
        score=float(score),
        signature=scorer.signature(),
        stats=stats,
        sentence_scores=sentence_scores,
    )


def score_systems(
    metrics: list[Metric],
    target_lang: str,
    references: list[list[str]],
    systems: dict[SystemKey, list[str]],
    workers: int = 1,
    sentence: bool = False,
    cache: Store | None = None,
    progress: Progress | None = None,
    desc: str = "",
    sources: list[str] | None = None,
    source_lang: str | None = None,
) -> dict[tuple[SystemKey, str], MetricResult]:
    """Score every system with every metric: {(system, metric label): MetricResult}."""
    check_shapes(references, systems)
    keys = {}
    found: dict[tuple[int, SystemKey], list] = {}
    for m_index, metric in enumerate(metrics):
        for name, hyps in systems.items():
            key = digest(metric.fingerprint(target_lang), references, hyps)
            if metric.uses_sources:  # reference-free: the sources are part of the input
                key = digest(key, sources or [])
            keys[(m_index, name)] = key
            if cache is not None:
                hit = cache.get(key)
                if hit is not None:
                    found[(m_index, name)] = hit
    todo_systems = {
        name: hyps for name, hyps in systems.items() if any((m, name) not in found for m in range(len(metrics)))
    }
    todo_metrics = [m for m in range(len(metrics)) if any((m, name) not in found for name in systems)]
    computed: dict[tuple[int, SystemKey], list] = {}
    if todo_systems and todo_metrics:
        stats = segment_statistics(
            [metrics[m] for m in todo_metrics],
            target_lang,
            references,
            todo_systems,
            workers,
            progress,
            desc,
            sources,
            source_lang,
            use_cache=cache is not None,
        )
        for m_index, per_system in zip(todo_metrics, stats, strict=True):
            for name, seg_stats in per_system.items():
                if (m_index, name) not in found:
                    computed[(m_index, name)] = seg_stats
                    if cache is not None:
                        cache.put(keys[(m_index, name)], seg_stats)
    results: dict[tuple[SystemKey, str], MetricResult] = {}
    for m_index, metric in enumerate(metrics):
        for name in systems:
            seg_stats = found.get((m_index, name)) or computed[(m_index, name)]
            result = corpus_result(metric, target_lang, len(references), seg_stats, sentence)
            result.cached = (m_index, name) in found
            results[(name, metric.label)] = result
    return results

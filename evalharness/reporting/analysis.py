"""Where systems differ beyond the corpus score, in the analyses of compare-mt (Neubig et al., 2019): scores by
source-length bucket, word F-measure by reference word-frequency bucket, the n-grams one system matches and another
does not, and per-document scores.

Bucket and document scores are corpus scores of the bucket's (document's) segments, aggregated from the
per-segment sufficient statistics the run already computed with sacrebleu's own methods and summed with
sacrebleu's own aggregation: exactly sacrebleu's `corpus_score` on those segments (a bucket's BLEU is the corpus
BLEU of its segments, not a mean of sentence BLEU). Words are sacrebleu's tokens: its `zh` tokenizer for Chinese
and Japanese (one token per Han character), `13a` otherwise. Word frequencies are counted in the dataset's
references (there is no training data to count them in); hypothesis words are matched against the first reference
with clipped counts (compare-mt aligns words; clipping is what BLEU's unigram precision does).

Each analysis returns rows; the runner writes them as `analysis/*.csv` and the report reads those files.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from evalharness import csvsafe
from evalharness.metrics.protocol import CorpusScorer
from evalharness.results.schema import ANALYSIS_FILES

# (label, lowest, highest) of source length in tokens, compare-mt's default buckets
LENGTH_BUCKETS = [("<10", 0, 9), ("10-19", 10, 19), ("20-29", 20, 29), ("30-39", 30, 39), ("40-49", 40, 49)]
LENGTH_LAST = ("50+", 50)
# (label, lowest, highest) of a word's count in the dataset's references; 0: a hypothesis word no reference has
FREQUENCY_BUCKETS = [("0", 0, 0), ("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-9", 5, 9), ("10-99", 10, 99)]
FREQUENCY_LAST = ("100+", 100)
NGRAM_ORDERS = (1, 2, 3, 4)
TOP_NGRAMS = 10  # per order and direction
FILES = ANALYSIS_FILES  # the results folder's analysis/*.csv, by key (declared in evalharness.results.schema)


@dataclass
class CellData:
    """One cell of a dataset, as the analyses need it."""

    system: str  # the system's name with its swept settings (plan.Cell.label)
    hypotheses: list[str]
    stats: dict[str, list]  # metric label -> per-segment sufficient statistics
    scores: dict[str, float] = field(default_factory=dict)  # metric label -> corpus score
    floor: bool = False  # copies the source (the identity floor): never "the best system"
    valid: bool = True  # False: a round trip whose pivot is not in the pivot language


@dataclass
class DatasetData:
    name: str
    source_lang: str
    target_lang: str
    sources: list[str]  # per scored segment
    references: list[list[str]]  # streams
    doc_ids: list[str] | None
    metrics: list  # the run's Metric objects
    cells: list[CellData]
    baseline: str | None = None  # statistics.baseline, when configured


def key_metric(metrics: list[str]) -> str:
    """The score systems are ranked by: chrF when the run has it, else the first metric."""
    for pattern in (r"chrF\d*", r"chrF.*"):
        for metric in metrics:
            if re.fullmatch(pattern, metric):
                return metric
    return metrics[0]


@lru_cache(maxsize=8)
def _tokenizer(lang: str):
    return TokenizerZh() if lang.split("-")[0].lower() in ("zh", "ja") else Tokenizer13a()


@lru_cache(maxsize=1 << 17)
def tokens(text: str, lang: str) -> tuple[str, ...]:
    """sacrebleu's tokens of a text in a language (see the module's docstring); remembered, since the frequency
    and n-gram analyses tokenize the same references and hypotheses."""
    return tuple(_tokenizer(lang)(text.strip()).split())


def _bucket(value: int, buckets: list[tuple[str, int, int]], last: tuple[str, int]) -> str:
    for label, low, high in buckets:
        if low <= value <= high:
            return label
    return last[0]


def _scorers(data: DatasetData) -> dict[str, CorpusScorer]:
    """The scorer of each metric, built once per dataset."""
    return {metric.label: metric.scorer(data.target_lang, len(data.references)) for metric in data.metrics}


def _corpus(scorer: CorpusScorer, stats: Sequence) -> float:
    """The metric's corpus score of the segments whose statistics are given (sacrebleu's, for its metrics)."""
    return float(scorer.corpus_score(list(stats)))


def length_rows(data: DatasetData) -> list[dict]:
    """Per system, source-length bucket and metric: the corpus score of the bucket's segments."""
    buckets: dict[str, list[int]] = {}
    for j, source in enumerate(data.sources):
        buckets.setdefault(_bucket(len(tokens(source, data.source_lang)), LENGTH_BUCKETS, LENGTH_LAST), []).append(j)
    order = [label for label, _, _ in LENGTH_BUCKETS] + [LENGTH_LAST[0]]
    scorers = _scorers(data)
    rows = []
    for cell in data.cells:
        for label in (b for b in order if b in buckets):
            index = buckets[label]
            row: dict[str, Any] = {"dataset": data.name, "system": cell.system, "bucket": label}
            row["segments"] = len(index)
            for metric in data.metrics:
                stats = cell.stats[metric.label]
                row[metric.label] = _corpus(scorers[metric.label], [stats[j] for j in index])
            rows.append(row)
    return rows


def frequency_rows(data: DatasetData) -> list[dict]:
    """Per system and word-frequency bucket (the word's count in the references): the reference and hypothesis
    words in the bucket, those matched (clipped counts against the first reference), precision, recall, F."""
    lang = data.target_lang
    refs = [[tokens(ref, lang) for ref in stream] for stream in data.references]
    freq = Counter(word for stream in refs for ref in stream for word in ref)
    bucket_of = {word: _bucket(count, FREQUENCY_BUCKETS, FREQUENCY_LAST) for word, count in freq.items()}
    unseen = FREQUENCY_BUCKETS[0][0]  # a hypothesis word no reference has
    order = [label for label, _, _ in FREQUENCY_BUCKETS] + [FREQUENCY_LAST[0]]
    rows = []
    for cell in data.cells:
        counts = {label: [0, 0, 0] for label in order}  # reference words, hypothesis words, matched
        for j, hyp in enumerate(cell.hypotheses):
            ref, out = Counter(refs[0][j]), Counter(tokens(hyp, lang))
            for word in ref.keys() | out.keys():
                count = counts[bucket_of.get(word, unseen)]
                r, h = ref[word], out[word]
                count[0] += r
                count[1] += h
                count[2] += min(r, h)
        for label in order:
            n_ref, n_hyp, matched = counts[label]
            if not n_ref and not n_hyp:
                continue
            precision = matched / n_hyp if n_hyp else None
            recall = matched / n_ref if n_ref else None
            f = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if n_ref else None)
            rows.append(
                {
                    "dataset": data.name,
                    "system": cell.system,
                    "bucket": label,
                    "reference_words": n_ref,
                    "hypothesis_words": n_hyp,
                    "matched": matched,
                    "precision": precision,
                    "recall": recall,
                    "f_measure": f,
                }
            )
    return rows


def compared_pair(data: DatasetData) -> tuple[CellData, CellData] | None:
    """(baseline, best): the configured baseline (else the runner-up) and the best valid system by the key
    metric; the copy-source floor is never the best. None with fewer than two systems to compare."""
    if not data.metrics or len(data.cells) < 2:
        return None
    metric = next(m for m in data.metrics if m.label == key_metric([m.label for m in data.metrics]))
    higher = metric.direction == "higher"
    ranked = sorted(
        (c for c in data.cells if c.valid and not c.floor and metric.label in c.scores),
        key=lambda c: -c.scores[metric.label] if higher else c.scores[metric.label],
    )
    if not ranked:
        return None
    best = ranked[0]
    base = next((c for c in data.cells if data.baseline and c.system == data.baseline and c is not best), None)
    if base is None:
        if len(ranked) < 2:
            return None
        base = ranked[1]
    return base, best


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(" ".join(words[k : k + n]) for k in range(len(words) - n + 1))


SMOOTHING = 1.0  # compare-mt's alpha


def _smoothed(win: int, lose: int) -> float:
    """compare-mt's n-gram score: the smoothed share of the matches that the better system makes."""
    return (win + SMOOTHING) / (win + lose + 2 * SMOOTHING)


def _rank(win: int, lose: int, gram: str) -> tuple[float, int, str]:
    return (-_smoothed(win, lose), -(win + lose), gram)


def ngram_rows(data: DatasetData) -> list[dict]:
    """The n-grams (orders 1-4) the best system matches in the references more often than the baseline, and the
    other way round: matches clipped per segment by the highest count in any reference (as in BLEU); the top
    TOP_NGRAMS of each order and direction by compare-mt's smoothed share of the matches (frequent words such as
    "the", matched a little more often by one system, do not crowd out the n-grams only one system gets)."""
    pair = compared_pair(data)
    if pair is None:
        return []
    base, best = pair
    lang = data.target_lang
    refs = [[tokens(ref, lang) for ref in stream] for stream in data.references]
    hyps = {c.system: [tokens(h, lang) for h in c.hypotheses] for c in pair}
    rows = []
    for n in NGRAM_ORDERS:
        matched: dict[str, Counter] = {c.system: Counter() for c in pair}
        for j in range(len(data.sources)):
            ref_max: Counter = Counter()
            for stream in refs:
                ref_max |= _ngrams(stream[j], n)
            for cell in pair:
                found = _ngrams(hyps[cell.system][j], n)
                matched[cell.system].update({g: min(k, ref_max[g]) for g, k in found.items() if g in ref_max})
        a, b = matched[base.system], matched[best.system]
        grams = a.keys() | b.keys()
        for winner, loser in ((best, base), (base, best)):
            win, lose = matched[winner.system], matched[loser.system]
            top = sorted((g for g in grams if win[g] > lose[g]), key=lambda g: _rank(win[g], lose[g], g))[:TOP_NGRAMS]
            rows += [
                {
                    "dataset": data.name,
                    "n": n,
                    "ngram": g,
                    "better": winner.system,
                    "worse": loser.system,
                    "matches_better": matched[winner.system][g],
                    "matches_worse": matched[loser.system][g],
                    "score": _smoothed(matched[winner.system][g], matched[loser.system][g]),
                    "baseline": base.system,
                    "best": best.system,
                }
                for g in top
            ]
    return rows


def document_rows(data: DatasetData) -> list[dict]:
    """Per system and document (datasets with document ids): every metric's corpus score of its segments."""
    if not data.doc_ids:
        return []
    docs: dict[str, list[int]] = {}
    for j, doc in enumerate(data.doc_ids):
        docs.setdefault(str(doc), []).append(j)
    scorers = _scorers(data)
    rows = []
    for cell in data.cells:
        for doc, index in docs.items():
            row: dict[str, Any] = {"dataset": data.name, "system": cell.system, "doc_id": doc, "segments": len(index)}
            for metric in data.metrics:
                stats = cell.stats[metric.label]
                row[metric.label] = _corpus(scorers[metric.label], [stats[j] for j in index])
            rows.append(row)
    return rows


def analysis_files(datasets: list[DatasetData]) -> dict[str, str]:
    """The analysis CSVs of a run (path in the results folder -> text); a file only when it has rows."""
    makers = {"length": length_rows, "frequency": frequency_rows, "ngrams": ngram_rows, "documents": document_rows}
    files = {}
    for key, make in makers.items():
        rows = [row for data in datasets for row in make(data)]
        if rows:
            files[FILES[key]] = csvsafe.to_csv(pd.DataFrame(rows))
    return files


NAME_COLUMNS = ["dataset", "system", "bucket", "ngram", "better", "worse", "baseline", "best", "doc_id"]


def read_table(text: str) -> pd.DataFrame:
    """An analysis CSV back as a frame: only an empty cell is missing, names stay text (a system `NA`)."""
    header = pd.read_csv(io.StringIO(text), nrows=0, keep_default_na=False).columns
    frame = pd.read_csv(
        io.StringIO(text),
        keep_default_na=False,
        na_values=[""],
        dtype={c: str for c in NAME_COLUMNS if c in header},
    )
    return csvsafe.read_back(frame)


__all__ = [
    "FILES",
    "CellData",
    "DatasetData",
    "analysis_files",
    "compared_pair",
    "document_rows",
    "frequency_rows",
    "key_metric",
    "length_rows",
    "ngram_rows",
    "read_table",
    "tokens",
]

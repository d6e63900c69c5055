"""BLEU and chrF/chrF++ segment statistics identical to sacrebleu 2.6.0's, with the n-gram counting compiled.

Why: once TER was compiled (ter_compiled.py), chrF became the slowest metric (about 0.3 ms a segment, 2.6 s for
9 WMT22 de-en systems) and BLEU the second: both spend their time building a Python `Counter` of every n-gram of
every hypothesis and intersecting it with the reference's. Here the n-grams become integers and are counted by
sorting, in numba.

How, exactly:
- The units are sacrebleu's own: BLEU's tokens are its tokenizer's output split on whitespace; chrF's characters
  are the line with whitespace removed (`''.join(line.split())`) unless `whitespace`, and chrF++'s words are
  its `_remove_punctuation` of the line. Lowercasing and tokenising stay sacrebleu's code.
- Each unit gets an id from the segment's references (their distinct units, 0..A-1); a hypothesis unit that no
  reference has gets id A. An n-gram is the base-(A+1) number of its ids, which is unique among n-grams of one
  order. Hypothesis n-grams with an unseen unit may share a number, but such an n-gram matches no reference
  n-gram either way, and the hypothesis count is positional, so no statistic changes.
- The statistics are then sacrebleu's: BLEU counts every hypothesis n-gram and clips matches by the maximum
  count over references, with the closest reference length (sacrebleu's `_get_closest_ref_len`); chrF takes, per
  reference, [hypothesis n-grams (0 when the reference has none of that order), reference n-grams, matches] per
  order, and keeps the reference with the best F-score by sacrebleu's own `_compute_f_score` (the first of
  equals).
- A segment whose numbers would not fit in 64 bits (more than 1447 distinct characters in a segment's references
  for chrF's 6-grams, more than 55107 distinct tokens for BLEU's 4-grams: whole documents in Chinese, say) is
  left to sacrebleu's own code: `ReferenceTable.fits` is False for it (and for a segment without references).

Exactness is guaranteed by tests (tests/test_ngram_compiled.py): every segment of WMT22 submissions against one
and two references, and generated cases under every option, compared with sacrebleu's statistics by `==`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalharness.metrics.ter_compiled import available, compiled

IntArray = npt.NDArray[np.int64]
INT64_MAX = np.iinfo(np.int64).max

__all__ = [
    "ReferenceTable",
    "available",
    "bleu_references",
    "bleu_statistics",
    "chrf_references",
    "chrf_statistics",
    "code_points",
]


# ------------------------------------------------------------------------------------------------- kernels


@compiled
def _keys(ids: IntArray, n: int, base: int) -> IntArray:
    """The n-grams of `ids` as base-`base` numbers, sorted."""
    m = len(ids) - n + 1
    if m <= 0:
        return np.empty(0, np.int64)
    keys = np.empty(m, np.int64)
    for i in range(m):
        key = 0
        for j in range(n):
            key = key * base + ids[i + j]
        keys[i] = key
    keys.sort()
    return keys


@compiled
def _table(ids: IntArray, max_order: int, base: int) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct n-grams of orders 1..max_order with their counts: keys and counts concatenated by order, sorted
    within an order; offsets[n-1]:offsets[n] is order n."""
    keys_out = np.empty(max(0, len(ids)) * max_order, np.int64)
    counts_out = np.empty(max(0, len(ids)) * max_order, np.int64)
    offsets = np.zeros(max_order + 1, np.int64)
    k = 0
    for n in range(1, max_order + 1):
        keys = _keys(ids, n, base)
        i = 0
        while i < len(keys):
            j = i + 1
            while j < len(keys) and keys[j] == keys[i]:
                j += 1
            keys_out[k] = keys[i]
            counts_out[k] = j - i
            k += 1
            i = j
        offsets[n] = k
    return keys_out[:k], counts_out[:k], offsets


@compiled
def _merge_max(
    keys_a: IntArray, counts_a: IntArray, offsets_a: IntArray, keys_b: IntArray, counts_b: IntArray, offsets_b: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Two tables as one, each n-gram with the larger of its two counts (BLEU's clipping over references)."""
    max_order = len(offsets_a) - 1
    keys_out = np.empty(len(keys_a) + len(keys_b), np.int64)
    counts_out = np.empty(len(keys_a) + len(keys_b), np.int64)
    offsets = np.zeros(max_order + 1, np.int64)
    k = 0
    for n in range(max_order):
        i, i_end = offsets_a[n], offsets_a[n + 1]
        j, j_end = offsets_b[n], offsets_b[n + 1]
        while i < i_end or j < j_end:
            if j == j_end or (i < i_end and keys_a[i] < keys_b[j]):
                keys_out[k], counts_out[k] = keys_a[i], counts_a[i]
                i += 1
            elif i == i_end or keys_b[j] < keys_a[i]:
                keys_out[k], counts_out[k] = keys_b[j], counts_b[j]
                j += 1
            else:
                keys_out[k], counts_out[k] = keys_a[i], max(counts_a[i], counts_b[j])
                i += 1
                j += 1
            k += 1
        offsets[n + 1] = k
    return keys_out[:k], counts_out[:k], offsets


@compiled
def _matches(
    ids: IntArray, max_order: int, base: int, keys: IntArray, counts: IntArray, offsets: IntArray
) -> tuple[IntArray, IntArray]:
    """Per order: the hypothesis's n-gram count, and its matches clipped by the table's counts."""
    totals = np.zeros(max_order, np.int64)
    matches = np.zeros(max_order, np.int64)
    for n in range(1, max_order + 1):
        hyp = _keys(ids, n, base)
        totals[n - 1] = len(hyp)
        t, t_end = offsets[n - 1], offsets[n]
        i = 0
        match = 0
        while i < len(hyp):
            j = i + 1
            while j < len(hyp) and hyp[j] == hyp[i]:
                j += 1
            while t < t_end and keys[t] < hyp[i]:
                t += 1
            if t < t_end and keys[t] == hyp[i]:
                match += min(j - i, counts[t])
            i = j
        matches[n - 1] = match
    return totals, matches


@compiled
def _chrf_stats(
    ids: IntArray, max_order: int, base: int, keys: IntArray, counts: IntArray, offsets: IntArray, ref_totals: IntArray
) -> IntArray:
    """chrF's [hyp, ref, match] per order against one reference, flat (no hypothesis count for an order the
    reference has no n-gram of, as in sacrebleu)."""
    totals, matches = _matches(ids, max_order, base, keys, counts, offsets)
    stats = np.empty(3 * max_order, np.int64)
    for n in range(max_order):
        stats[3 * n] = totals[n] if ref_totals[n] > 0 else 0
        stats[3 * n + 1] = ref_totals[n]
        stats[3 * n + 2] = matches[n]
    return stats


@compiled
def _char_ids(points: IntArray, alphabet: IntArray) -> IntArray:
    """Each code point's index in the sorted `alphabet`, or len(alphabet) for one not in it."""
    ids = np.empty(len(points), np.int64)
    unseen = len(alphabet)
    for i in range(len(points)):
        j = np.searchsorted(alphabet, points[i])
        ids[i] = j if j < unseen and alphabet[j] == points[i] else unseen
    return ids


# ------------------------------------------------------------------------------------------ per segment


def code_points(text: str) -> IntArray:
    """The characters of `text` as integers (UTF-32), without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _fits(base: int, max_order: int) -> bool:
    return max_order == 0 or base**max_order <= INT64_MAX


@dataclass
class _Table:
    """The distinct n-grams of one reference (or of all, merged) by order, and how many n-grams each order has."""

    keys: IntArray
    counts: IntArray
    offsets: IntArray
    totals: IntArray


def _make_table(parts: tuple[IntArray, IntArray, IntArray]) -> _Table:
    keys, counts, offsets = parts
    totals = np.array([counts[offsets[n] : offsets[n + 1]].sum() for n in range(len(offsets) - 1)], np.int64)
    return _Table(keys, counts, offsets, totals)


@dataclass
class _Side:
    """One kind of unit (characters, or words) of a segment's references: the number base of its n-grams and
    each reference's table (for BLEU: one table, merged over the references)."""

    base: int
    max_order: int
    tables: list[_Table]
    vocabulary: dict[str, int] | None = None  # words: their ids


@dataclass
class ReferenceTable:
    """What `bleu_statistics` / `chrf_statistics` need of one segment's preprocessed references. `fits` False:
    the segment is left to sacrebleu's own code (see the module's docstring)."""

    fits: bool
    chars: _Side | None = None  # chrF: characters
    alphabet: IntArray | None = None  # chrF: the references' sorted distinct code points
    words: _Side | None = None  # BLEU: tokens; chrF++: words
    ref_lens: list[int] | None = None  # BLEU: token counts


def _word_side(token_lists: list[list[str]], max_order: int, merge: bool) -> _Side | None:
    vocabulary: dict[str, int] = {}
    id_lists = [
        np.array([vocabulary.setdefault(t, len(vocabulary)) for t in tokens], np.int64) for tokens in token_lists
    ]
    base = len(vocabulary) + 1
    if not _fits(base, max_order):
        return None
    parts = [_table(ids, max_order, base) for ids in id_lists]
    if merge:
        merged = parts[0]
        for part in parts[1:]:
            merged = _merge_max(*merged, *part)
        parts = [merged]
    return _Side(base, max_order, [_make_table(part) for part in parts], vocabulary)


def bleu_references(refs: list[str], max_order: int) -> ReferenceTable:
    """The table of one segment's tokenised references for BLEU's word n-grams of orders 1..max_order."""
    if not refs:
        return ReferenceTable(fits=False)
    token_lists = [ref.split() for ref in refs]
    side = _word_side(token_lists, max_order, merge=True)
    return ReferenceTable(fits=side is not None, words=side, ref_lens=[len(t) for t in token_lists])


def chrf_references(
    refs: list[str], char_order: int, whitespace: bool, word_order: int, words: list[list[str]]
) -> ReferenceTable:
    """The tables of one segment's references for chrF: character n-grams of the lines (whitespace removed
    unless `whitespace`) and, for chrF++, word n-grams of `words` (each reference's `_remove_punctuation`)."""
    if not refs:
        return ReferenceTable(fits=False)
    points = [code_points(ref if whitespace else "".join(ref.split())) for ref in refs]
    alphabet = np.unique(np.concatenate(points))
    base = len(alphabet) + 1
    if not _fits(base, char_order):
        return ReferenceTable(fits=False)
    chars = _Side(base, char_order, [_make_table(_table(_char_ids(p, alphabet), char_order, base)) for p in points])
    word_side = _word_side(words, word_order, merge=False) if word_order else None
    if word_order and word_side is None:
        return ReferenceTable(fits=False)
    return ReferenceTable(fits=True, chars=chars, alphabet=alphabet, words=word_side)


def _word_ids(tokens: list[str], vocabulary: dict[str, int]) -> IntArray:
    unseen = len(vocabulary)
    return np.array([vocabulary.get(t, unseen) for t in tokens], np.int64)


def bleu_statistics(
    tokens: list[str], table: ReferenceTable, closest_ref_len: Callable[[int, list[int]], int]
) -> list[int]:
    """sacrebleu's BLEU statistics [hyp_len, ref_len, correct_1..N, total_1..N] of a tokenised hypothesis;
    `closest_ref_len` is sacrebleu's own choice of reference length."""
    side, ref_lens = table.words, table.ref_lens
    assert side is not None and side.vocabulary is not None and ref_lens is not None
    ref = side.tables[0]
    totals, matches = _matches(
        _word_ids(tokens, side.vocabulary), side.max_order, side.base, ref.keys, ref.counts, ref.offsets
    )
    return [len(tokens), closest_ref_len(len(tokens), ref_lens), *matches.tolist(), *totals.tolist()]


def chrf_statistics(
    line: str, words: list[str] | None, table: ReferenceTable, f_score: Callable[[list[int]], float]
) -> list[int]:
    """sacrebleu's chrF statistics of a hypothesis: `line` with whitespace removed unless the metric keeps it,
    `words` its `_remove_punctuation` (chrF++ only); the reference with the best `f_score` (sacrebleu's) wins,
    the first of equals."""
    chars, alphabet, word_side = table.chars, table.alphabet, table.words
    assert chars is not None and alphabet is not None
    char_ids = _char_ids(code_points(line), alphabet)
    word_ids = None
    if word_side is not None:
        assert words is not None and word_side.vocabulary is not None
        word_ids = _word_ids(words, word_side.vocabulary)
    best: list[int] = []
    best_f = -1.0
    for k, ref in enumerate(chars.tables):
        stats = _order_stats(char_ids, chars, ref)
        if word_side is not None and word_ids is not None:
            stats += _order_stats(word_ids, word_side, word_side.tables[k])
        f = f_score(stats)
        if f > best_f:
            best_f, best = f, stats
    return best


def _order_stats(ids: IntArray, side: _Side, ref: _Table) -> list[int]:
    stats: list[int] = _chrf_stats(
        ids, side.max_order, side.base, ref.keys, ref.counts, ref.offsets, ref.totals
    ).tolist()
    return stats

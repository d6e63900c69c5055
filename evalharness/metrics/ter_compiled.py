"""TER statistics identical to sacrebleu 2.6.0's, computed by a compiled (numba) port of its shift search.

Why: sacrebleu's TER (`sacrebleu.metrics.lib_ter`) is pure Python; its beam edit distance runs once per shift
candidate (up to ~1000 per segment), which costs about 6 s per WMT22 de-en system against one reference and
dominates evalharness's scoring time; compiled, the same statistics take about 0.15 s (numba's first compile
takes ~8 s, later processes load it from numba's cache in ~0.4 s).

What is compiled: `translation_edit_rate` on integer word ids, i.e. sacrebleu's greedy shift search (`_shift`,
`_find_shifted_pairs`, `_perform_shift`, `trace_to_alignment`) and its `BeamEditDistance` (the same beam around
the length-ratio pseudo-diagonal, widened for very unequal lengths, full last row, the same costs, the same
preference no-op/substitution > deletion > insertion, the same traceback), with the same limits (shift size 10,
shift distance 50, beam 25, 1000 candidates per segment, the last round's best shift discarded when the limit is
reached) and the same ranking of candidates (gain, then length, then earliest start, then earliest target; the
first of equals kept). sacrebleu's trie cache of matrix rows is replaced by reusing the rows of the unshifted
hypothesis up to the first position where a candidate differs: a row depends only on the words before it and on
the hypothesis length (constant under shifts), so neither cache changes any number. Tokenisation stays
sacrebleu's own (the TER object's `tokenizer`), applied in the same sequence as `corpus_score`.

Exactness is guaranteed by tests (tests/test_ter_compiled.py): every segment of WMT22 system outputs against
one and two references, and thousands of generated shift-heavy cases under every tokeniser option, compared with
sacrebleu's statistics by `==`. Without numba the module still imports; `available()` is then False and
`segment_statistics` falls back to sacrebleu's pure-Python `translation_edit_rate`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
from sacrebleu.metrics.lib_ter import translation_edit_rate as _sacrebleu_ter

if TYPE_CHECKING:
    from sacrebleu.metrics import TER

# sacrebleu.metrics.lib_ter's constants (private there; the tests check these copies against them).
COST_INS = 1
COST_DEL = 1
COST_SUB = 1
MAX_SHIFT_SIZE = 10
MAX_SHIFT_DIST = 50
BEAM_WIDTH = 25
MAX_SHIFT_CANDIDATES = 1000
INT_INFINITY = int(1e16)

# Edit operations as small ints (sacrebleu: ' ', 's', 'i', 'd', 'x'). 'i' consumes a reference word only,
# 'd' a hypothesis word only (before sacrebleu flips the trace to compute the alignment).
OP_NOP = 0
OP_SUB = 1
OP_INS = 2
OP_DEL = 3
OP_UNDEF = 4

IntArray = npt.NDArray[np.int64]
F = TypeVar("F", bound=Callable[..., Any])


def _load_numba() -> ModuleType | None:
    try:
        return importlib.import_module("numba")
    except ImportError:
        return None


_numba = _load_numba()


def available() -> bool:
    """Whether numba is importable, i.e. whether `segment_statistics` runs compiled."""
    return _numba is not None


def compiled(func: F) -> F:
    """numba.njit(cache=True) where numba is installed; the plain Python function otherwise."""
    if _numba is None:
        return func
    compiled: F = _numba.njit(cache=True)(func)
    return compiled


# --------------------------------------------------------------------------------------- beam edit distance


@compiled
def _beam(n_ref: int, n_hyp: int) -> tuple[float, int]:
    """sacrebleu's length ratio and beam width (widened when the lengths differ wildly)."""
    ratio = n_ref / n_hyp if n_hyp > 0 else 1.0
    if BEAM_WIDTH < ratio / 2:
        return ratio, math.ceil(ratio / 2 + BEAM_WIDTH)
    return ratio, BEAM_WIDTH


@compiled
def _fill_row(
    word: int,
    ref: IntArray,
    i: int,
    last_row: bool,
    ratio: float,
    width: int,
    prev_cost: IntArray,
    cur_cost: IntArray,
    cur_op: npt.NDArray[np.int8],
) -> None:
    """Row i of the matrix (hypothesis word `word` = hyp[i - 1]) from row i - 1; `cur_*` must hold INF/UNDEF."""
    n_ref: int = ref.shape[0]
    pseudo_diag = math.floor(i * ratio)
    min_j = max(0, pseudo_diag - width)
    max_j = min(n_ref + 1, pseudo_diag + width)
    if last_row:
        max_j = n_ref + 1
    for j in range(min_j, max_j):
        if j == 0:
            cur_cost[0] = prev_cost[0] + COST_DEL
            cur_op[0] = OP_DEL
            continue
        if word == ref[j - 1]:
            cost_sub = 0
            op_sub = OP_NOP
        else:
            cost_sub = COST_SUB
            op_sub = OP_SUB
        best = cur_cost[j]
        best_op = cur_op[j]
        # sacrebleu's order with strict '>': no-op/substitution, then deletion, then insertion.
        cost = prev_cost[j - 1] + cost_sub
        if best > cost:
            best = cost
            best_op = op_sub
        cost = prev_cost[j] + COST_DEL
        if best > cost:
            best = cost
            best_op = OP_DEL
        cost = cur_cost[j - 1] + COST_INS
        if best > cost:
            best = cost
            best_op = OP_INS
        cur_cost[j] = best
        cur_op[j] = best_op


@compiled
def _matrix(hyp: IntArray, ref: IntArray) -> tuple[IntArray, npt.NDArray[np.int8]]:
    """The whole beam edit-distance matrix (costs, operations) of hyp against ref."""
    n_hyp: int = hyp.shape[0]
    n_ref: int = ref.shape[0]
    cost = np.full((n_hyp + 1, n_ref + 1), INT_INFINITY, dtype=np.int64)
    ops = np.full((n_hyp + 1, n_ref + 1), OP_UNDEF, dtype=np.int8)
    for j in range(n_ref + 1):
        cost[0, j] = j * COST_INS
        ops[0, j] = OP_INS
    ratio, width = _beam(n_ref, n_hyp)
    for i in range(1, n_hyp + 1):
        _fill_row(hyp[i - 1], ref, i, i == n_hyp, ratio, width, cost[i - 1], cost[i], ops[i])
    return cost, ops


@compiled
def _distance_from(
    hyp: IntArray, ref: IntArray, start: int, base_cost: IntArray, rows: IntArray, ops: npt.NDArray[np.int8]
) -> int:
    """Edit distance of hyp when its first `start` words equal those of the hypothesis of `base_cost`.

    `rows` (2 x (len(ref) + 1)) and `ops` (len(ref) + 1) are scratch space."""
    n_hyp: int = hyp.shape[0]
    n_ref: int = ref.shape[0]
    if start == n_hyp:
        return base_cost[n_hyp, n_ref]
    ratio, width = _beam(n_ref, n_hyp)
    rows[0, :] = base_cost[start]
    cur = 1
    for i in range(start + 1, n_hyp + 1):
        rows[cur, :] = INT_INFINITY
        ops[:] = OP_UNDEF
        _fill_row(hyp[i - 1], ref, i, i == n_hyp, ratio, width, rows[1 - cur], rows[cur], ops)
        cur = 1 - cur
    return rows[1 - cur, n_ref]


@compiled
def _alignment(
    ops: npt.NDArray[np.int8], n_hyp: int, n_ref: int
) -> tuple[IntArray, npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """sacrebleu's traceback, flipped trace and `trace_to_alignment`: (align, ref_err, hyp_err).

    align[r] is the hypothesis position aligned to reference position r (-2: none, sacrebleu's missing key)."""
    trace = np.empty(n_hyp + n_ref, dtype=np.int8)
    length = 0
    i = n_hyp
    j = n_ref
    while i > 0 or j > 0:
        op = ops[i, j]
        trace[length] = op
        length += 1
        if op == OP_SUB or op == OP_NOP:
            i -= 1
            j -= 1
        elif op == OP_INS:
            j -= 1
        elif op == OP_DEL:
            i -= 1
        else:
            raise ValueError("unknown operation in TER traceback")
    align = np.full(n_ref, -2, dtype=np.int64)
    ref_err = np.zeros(n_ref, dtype=np.int8)
    hyp_err = np.zeros(n_hyp, dtype=np.int8)
    pos_hyp = -1
    pos_ref = -1
    for k in range(length - 1, -1, -1):  # the trace runs backwards
        op = trace[k]
        if op == OP_NOP or op == OP_SUB:
            pos_hyp += 1
            pos_ref += 1
            align[pos_ref] = pos_hyp
            if op == OP_SUB:
                hyp_err[pos_hyp] = 1
                ref_err[pos_ref] = 1
        elif op == OP_DEL:  # flipped to an insertion: a hypothesis word only
            pos_hyp += 1
            hyp_err[pos_hyp] = 1
        else:  # OP_INS, flipped to a deletion: a reference word only
            pos_ref += 1
            align[pos_ref] = pos_hyp
            ref_err[pos_ref] = 1
    return align, ref_err, hyp_err


# ------------------------------------------------------------------------------------------------- shifts


@compiled
def _copy_slice(src: IntArray, start: int, stop: int, out: IntArray, k: int) -> int:
    """out[k:] = src[start:stop] with Python's clamping of slice bounds; returns the new k."""
    n = src.shape[0]
    start = min(start, n)
    stop = min(stop, n)
    for t in range(start, stop):
        out[k] = src[t]
        k += 1
    return k


@compiled
def _perform_shift(words: IntArray, start: int, length: int, target: int, out: IntArray) -> None:
    """sacrebleu's `_perform_shift` (including its 'within the shifted string' case) into `out`."""
    k = 0
    if target < start:
        k = _copy_slice(words, 0, target, out, k)
        k = _copy_slice(words, start, start + length, out, k)
        k = _copy_slice(words, target, start, out, k)
        k = _copy_slice(words, start + length, words.shape[0], out, k)
    elif target > start + length:
        k = _copy_slice(words, 0, start, out, k)
        k = _copy_slice(words, start + length, target, out, k)
        k = _copy_slice(words, start, start + length, out, k)
        k = _copy_slice(words, target, words.shape[0], out, k)
    else:
        k = _copy_slice(words, 0, start, out, k)
        k = _copy_slice(words, start + length, length + target, out, k)
        k = _copy_slice(words, start, start + length, out, k)
        k = _copy_slice(words, length + target, words.shape[0], out, k)
    if k != words.shape[0]:
        raise ValueError("TER shift changed the hypothesis length")


@compiled
def _shift(hyp: IntArray, ref: IntArray, checked: int) -> tuple[int, IntArray, int]:
    """sacrebleu's `_shift`: (gain of the best shift, shifted words, candidates checked so far)."""
    n_hyp: int = hyp.shape[0]
    n_ref: int = ref.shape[0]
    base_cost, base_ops = _matrix(hyp, ref)
    pre_score = base_cost[n_hyp, n_ref]
    align, ref_err, hyp_err = _alignment(base_ops, n_hyp, n_ref)

    shifted = np.empty(n_hyp, dtype=np.int64)
    best_words = hyp
    has_best = False
    best_score = 0
    best_length = 0
    best_start = 0
    best_idx = 0
    rows = np.empty((2, n_ref + 1), dtype=np.int64)
    row_ops = np.empty(n_ref + 1, dtype=np.int8)

    done = False
    for start_h in range(n_hyp):
        if done:
            break
        for start_r in range(n_ref):
            if done:
                break
            if abs(start_r - start_h) > MAX_SHIFT_DIST:
                continue
            length = 0
            while hyp[start_h + length] == ref[start_r + length] and length < MAX_SHIFT_SIZE:
                length += 1
                # --- one (start_h, start_r, length) of `_find_shifted_pairs`, as `_shift` consumes it
                take = True
                errors = 0
                for t in range(start_h, start_h + length):
                    errors += hyp_err[t]
                if errors == 0:
                    take = False
                if take:
                    errors = 0
                    for t in range(start_r, start_r + length):
                        errors += ref_err[t]
                    if errors == 0:
                        take = False
                if take and start_h <= align[start_r] < start_h + length:
                    take = False
                if take:
                    prev_idx = -1
                    for offset in range(-1, length):
                        pos = start_r + offset
                        if pos == -1:
                            idx = 0
                        elif 0 <= pos < n_ref and align[pos] != -2:
                            idx = align[pos] + 1
                        else:
                            break
                        if idx == prev_idx:
                            continue
                        prev_idx = idx
                        _perform_shift(hyp, start_h, length, idx, shifted)
                        same = 0
                        while same < n_hyp and shifted[same] == hyp[same]:
                            same += 1
                        score = pre_score - _distance_from(shifted, ref, same, base_cost, rows, row_ops)
                        checked += 1
                        # tuple order (score, length, -start_h, -idx) > best: strictly better only
                        better = not has_best
                        if not better:
                            if score != best_score:
                                better = score > best_score
                            elif length != best_length:
                                better = length > best_length
                            elif start_h != best_start:
                                better = start_h < best_start
                            else:
                                better = idx < best_idx
                        if better:
                            has_best = True
                            best_score = score
                            best_length = length
                            best_start = start_h
                            best_idx = idx
                            best_words = shifted.copy()
                    if checked >= MAX_SHIFT_CANDIDATES:
                        done = True
                        break
                # --- end of the consumer; back in `_find_shifted_pairs`
                if n_hyp == start_h + length or n_ref == start_r + length:
                    break

    if not has_best:
        return 0, hyp, checked
    return best_score, best_words, checked


@compiled
def _translation_edit_rate(hyp: IntArray, ref: IntArray) -> tuple[int, int]:
    """sacrebleu's `translation_edit_rate` on word ids: (number of edits, reference length)."""
    n_hyp: int = hyp.shape[0]
    n_ref: int = ref.shape[0]
    if n_ref == 0:
        return n_hyp, 0
    shifts = 0
    words = hyp
    checked = 0
    while True:
        delta, new_words, checked = _shift(words, ref, checked)
        if checked >= MAX_SHIFT_CANDIDATES:
            break  # the limit discards this round's shift, gain or not
        if delta <= 0:
            break
        shifts += 1
        words = new_words
    cost, _ops = _matrix(words, ref)
    return shifts + cost[n_hyp, n_ref], n_ref


# ----------------------------------------------------------------------------------------------- Python API


def translation_edit_rate(hyp_words: Sequence[str], ref_words: Sequence[str]) -> tuple[int, int]:
    """(number of edits, reference length) exactly as `sacrebleu.metrics.lib_ter.translation_edit_rate`."""
    if _numba is None:
        return _sacrebleu_ter(list(hyp_words), list(ref_words))
    ids: dict[str, int] = {}
    hyp = np.array([ids.setdefault(w, len(ids)) for w in hyp_words], dtype=np.int64)
    ref = np.array([ids.setdefault(w, len(ids)) for w in ref_words], dtype=np.int64)
    edits, length = _translation_edit_rate(hyp, ref)
    return int(edits), int(length)


def statistics_from_words(hyp_words: Sequence[str], refs_words: Sequence[Sequence[str]]) -> list[float]:
    """`TER._compute_segment_statistics` on tokenised words: [fewest edits over references, mean ref length]."""
    ref_lengths = 0
    best_num_edits = int(1e16)
    for words_ref in refs_words:
        num_edits, ref_len = translation_edit_rate(hyp_words, words_ref)
        ref_lengths += ref_len
        if num_edits < best_num_edits:
            best_num_edits = num_edits
    avg_ref_len = ref_lengths / len(refs_words)  # no reference: ZeroDivisionError, as in sacrebleu
    return [best_num_edits, avg_ref_len]


def preprocess(metric: TER, sentence: str) -> str:
    """`TER._preprocess_segment`: the metric's own Tercom tokenizer on the right-stripped sentence."""
    return metric.tokenizer(sentence.rstrip())


def segment_statistics(metric: TER, hypothesis: str, references: Sequence[str | None]) -> list[float]:
    """The statistics `metric.corpus_score` / `sentence_score` compute for one segment, equal by `==`.

    As in sacrebleu, references (None ones dropped) are preprocessed twice (`_cache_references`, then
    `_extract_reference_info`), the hypothesis once; with normalized=True the second pass can change tokens."""
    refs = [preprocess(metric, ref) for ref in references if ref is not None]
    refs_words = [preprocess(metric, ref).split() for ref in refs]
    return statistics_from_words(preprocess(metric, hypothesis).split(), refs_words)

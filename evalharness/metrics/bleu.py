"""BLEU (sacrebleu.metrics.BLEU), with the tokenizer chosen per target language."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from sacrebleu.metrics import BLEU

from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.metrics.base import MetricConfigBase, SacrebleuMetric
from evalharness.metrics.sacrebleu_adapter import bleu_tokenizers


class BleuConfig(MetricConfigBase):
    name: Literal["bleu"]
    tokenize: str | dict[str, str] = Field(
        default="auto",
        description="a sacrebleu tokenizer, 'auto' (sacrebleu's default for the target language: zh, ja-mecab, "
        "ko-mecab, else 13a), or a mapping from target language to tokenizer with an optional 'default'",
    )
    lowercase: bool = False
    smooth_method: Literal["none", "floor", "add-k", "exp"] = "exp"
    # sacrebleu's smoothing values are 0.1 (floor) and 1 (add-k); 10 leaves room to experiment, not to overflow.
    smooth_value: float | None = Field(default=None, ge=0, le=10)
    max_ngram_order: int = Field(strict=True, default=4, ge=1, le=9)

    @field_validator("tokenize")
    @classmethod
    def _known_tokenizer(cls, value):
        names = value.values() if isinstance(value, dict) else [value]
        known = bleu_tokenizers()
        for name in names:
            if name != "auto" and name not in known:
                raise ValueError(f"unknown tokenizer {name!r} (sacrebleu has: auto, {', '.join(known)})")
        return value


class BleuMetric(SacrebleuMetric):
    cfg: BleuConfig
    sacrebleu_class = BLEU

    def default_label(self) -> str:
        return "BLEU"

    def tokenizer_for(self, target_lang: str) -> str | None:
        """None lets sacrebleu pick its default tokenizer for the target language."""
        tok = self.cfg.tokenize
        if isinstance(tok, dict):
            tok = tok.get(target_lang, tok.get("default", "auto"))
        return None if tok == "auto" else tok

    def human_curve(self, target_lang: str) -> str | None:
        """sacreBLEU with its defaults (the target language's tokenizer) is `bleu`; with the FLORES
        SentencePiece tokenizers it is spBLEU (`spbleu101`, `spbleu200`); other settings have no curve."""
        cfg = self.cfg
        if cfg.lowercase or cfg.smooth_method != "exp" or cfg.smooth_value is not None or cfg.max_ngram_order != 4:
            return None
        tok = self.tokenizer_for(target_lang)
        if tok is None or tok == sb.bleu_default_tokenizer(target_lang):
            return "bleu"
        return {"flores101": "spbleu101", "flores200": "spbleu200"}.get(tok)

    def _make(self, target_lang: str, effective_order: bool) -> BLEU:
        return BLEU(
            lowercase=self.cfg.lowercase,
            tokenize=self.tokenizer_for(target_lang),
            smooth_method=self.cfg.smooth_method,
            smooth_value=self.cfg.smooth_value,
            max_ngram_order=self.cfg.max_ngram_order,
            effective_order=effective_order,
            trg_lang=target_lang,
        )

    def build(self, target_lang: str) -> BLEU:
        return self._make(target_lang, effective_order=False)

    def build_sentence(self, target_lang: str) -> BLEU:
        # sacrebleu.sentence_bleu uses effective order; the per-segment statistics are the same.
        return self._make(target_lang, effective_order=True)

    def options(self) -> dict:
        return {**super().options(), "tokenize": self.cfg.tokenize}

    @staticmethod
    def fast_scores(metric: BLEU, sums: np.ndarray) -> np.ndarray | None:
        return resample_scores(metric, sums)


def resample_scores(scorer: BLEU, sums: np.ndarray) -> np.ndarray | None:
    """The score of every row of summed statistics (bootstrap and permutation resamples), equal to sacrebleu's
    row by row, dtype included: BLEU.compute_bleu with its precisions as arrays (same dtype, same order), its
    logs and exps with the math module (numpy's may differ in the last bit); None for add-k smoothing."""
    if scorer.smooth_method == "add-k":
        return None
    F = sb.float_type(sums)
    order = scorer.max_ngram_order
    s = sums.astype(F) if sums.dtype != F else sums
    correct, total = s[:, 2 : 2 + order], s[:, 2 + order : 2 + 2 * order]
    edge = ~((correct > 0).all(axis=1) & (total > 0).all(axis=1) & (s[:, 0] >= 1) & (s[:, 1] >= 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        precisions = (F(100.0) * correct) / total
    plist = precisions.tolist()  # exact conversion to Python floats, as math.log does with numpy scalars
    sys_lens = s[:, 0].tolist()
    ref_lens = s[:, 1].tolist()
    values = np.zeros(len(s), dtype=np.float64)
    exp, log = math.exp, math.log
    for r in np.flatnonzero(~edge).tolist():
        sys_len, ref_len = int(sys_lens[r]), int(ref_lens[r])
        bp = exp(1 - ref_len / sys_len) if sys_len < ref_len else 1.0
        total_log: float = 0
        for p in plist[r]:
            total_log += log(p) if p != 0.0 else -9999999999
        values[r] = bp * exp(total_log / order)
    return sb.with_sacrebleu_rows(values, edge, scorer, sums)

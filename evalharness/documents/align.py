"""Sentence alignment of a source document with its reference document.

Method: the length-based dynamic programme of Gale & Church (1993, "A Program for Aligning Sentences in
Bilingual Corpora", Computational Linguistics 19(1)), extended with lexical anchors in the manner of hybrid
aligners (Moore 2002, "Fast and Accurate Sentence Alignment of Bilingual Corpora"; Varga et al. 2005,
"Parallel corpora for medium density languages", the Hunalign identical-token/dictionary bonus) and with
cognates (Simard, Foster & Isabelle 1992, "Using cognates to align sentences in bilingual corpora").

Length model (Gale & Church). A link (a "bead") joins 0-2 source sentences with 0-2 reference sentences. For
source length l1 and reference length l2 in characters, with c reference characters per source character and
variance s2 per character,

    delta = (c * l1 - l2) / sqrt(s2 * (c * l1 + l2) / 2)        P(delta) = 2 * (1 - Phi(|delta|))

and the bead costs -100 * ln(prior(bead type) * P(delta)). The priors for 1-1 (0.89), 2-1 and 1-2 (0.089
each) and 2-2 (0.011) are Gale & Church's (Table 5); s2 = 6.8 as in the paper. Deviations, all for documents
rather than the parliamentary text Gale & Church measured:
  - 1-0 and 0-1 have prior 0.04 each, not 0.0099: a headline that translates another headline, a boilerplate
    line of a web page, a sentence left out are far more common in documents, and with 0.0099 a short
    unmatched sentence is often merged into a neighbour instead (set 0.0099 for the original);
  - the variance scales with the mean length in reference characters, the unit of the difference (the same
    as Gale & Church's for c = 1; for Chinese-English, c ~ 3, it is what keeps the model usable);
  - a 1-0 or 0-1 bead pays its prior only (Gale & Church also charge P(delta) against the empty side, which
    makes dropping a long sentence dearer still);
  - a document's headline, a first sentence that ends in a letter or digit rather than in punctuation (the title
    line above a web article), is aligned on its own: it is never merged with body sentences, it links only to
    the other document's first sentence(s) or to nothing, and a 1-0 or 0-1 link for it has prior
    `headline_prior` (0.2) instead of 0.04. Translated pages often carry a rewritten headline, or the headline of
    another version of the article; with the body prior such a headline is linked to the other headline despite
    their lengths, or merged with the first body sentence into a 2-2 link. A headline that does translate the
    other one still gets its 1-1 link (well-matched lengths and shared anchors cost far less than two null links
    at 0.2). `headline_prior=None` turns this off;
  - c is estimated from the two documents unless configured: a first pass with total reference characters /
    total source characters (which unmatched sentences bias in a short document), a second pass with the same
    ratio over the 1-1 links of the first.

Anchors (hybrid). Tokens that must survive translation unchanged are collected from each sentence: numbers
(separators dropped and leading zeros stripped, so "1,5" = "1.5", "1.000" = "1,000", "07" = "7"), names and
acronyms written identically in both documents (a capitalised word counts when it also occurs in mid-sentence
position in one of the documents, which keeps out sentence-initial function words such as "In", "So" or
"Also" that exist in both languages), identical quoted strings, and optionally the punctuation markers "?",
"!", a quotation and a parenthesis. Cognates, words of 4+ letters that share their first 4 letters
("Statistik"/"statistic"), are weaker anchors (`cognate_weight`). Only tokens found in both documents are
anchors; each weighs 1 / (the most sentences it occurs in on either side), so a name in every sentence says
little. A bead earns `anchor_weight` times the weight of every anchor it matches on both sides and pays
`anchor_mismatch` times that for every anchor left without its counterpart, so its cost becomes

    -100 * ln(prior * P(delta)) - anchor_weight * sum_t w_t * (matched_t - anchor_mismatch * unmatched_t).

`anchor_weight = 0` gives length-only Gale & Church. The alignment depends on the two documents only.

The search is the usual dynamic programme over monotone bead sequences, two passes; every sentence ends up in
exactly one link. Up to `FULL_SEARCH_CELLS` cells (200 x 200 sentences) it visits every cell, O(len(src) *
len(ref)). Longer documents (a 400 KB article has 3,500 sentences a side) are searched in a band around the
diagonal of equal character offsets (source offset * length ratio = reference offset, which is where Gale &
Church's model expects the path), `BAND_CHARACTERS` either side; when the cheapest path touches the band's edge
the band is doubled and the search repeated, as Moore (2002) does, so the band only saves work and does not
change the result unless the true path strays further than the band from the diagonal and then comes back
without touching it.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass

from pydantic import Field

from evalharness.configtypes import Strict

# Bead shapes: (source sentences, reference sentences). The DP tries them in this order; ties keep the first.
_SHAPES = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2))

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|#[A-Za-z_]+#")
# A quotation: an opening mark (German „…“ ‚…‘, English “…” ‘…’ "…", French «…» »…«), 2+ characters, a closing mark.
_QUOTED = re.compile(r'[„“”"«»‚‘]([^„“”"«»‚‘]{2,}?)[“”"»«‘’]')
_QUOTE_CHARS = set('„“”"«»‚')
_SPACE = re.compile(r"\s+")
_COGNATE = 4  # cognates share their first 4 letters (Simard et al. 1992)
_MIN_RATIO_LINKS = 2  # 1-1 links needed to re-estimate the length ratio
_RATIO_PASSES = 2  # when the length ratio is estimated (more passes changed nothing on WMT22)
FULL_SEARCH_CELLS = 40_000  # up to 200 x 200 sentences every cell is searched (about 1 s per pass)
# Otherwise a band this many characters either side of the diagonal (at least BAND_SENTENCES sentences), doubled
# while the cheapest path touches its edge.
BAND_CHARACTERS = 1500
BAND_SENTENCES = 4


class AlignConfig(Strict):
    """Knobs of `align`: Gale & Church's published values except the 1-0/0-1 priors, plus the anchor bonus."""

    prior_1_1: float = Field(0.89, gt=0, le=1, description="prior probability of a 1-1 link")
    prior_1_0: float = Field(0.04, gt=0, le=1, description="a source sentence with no reference sentence")
    prior_0_1: float = Field(0.04, gt=0, le=1, description="a reference sentence with no source sentence")
    prior_2_1: float = Field(0.089, gt=0, le=1, description="two source sentences, one reference sentence")
    prior_1_2: float = Field(0.089, gt=0, le=1, description="one source sentence, two reference sentences")
    prior_2_2: float = Field(0.011, gt=0, le=1, description="two source sentences, two reference sentences")
    max_merge: int = Field(2, ge=1, le=2, description="most sentences on one side of a link (1: no merges)")
    length_ratio: float | None = Field(
        None, gt=0, description="reference characters per source character; None: estimated from the documents"
    )
    variance: float = Field(6.8, gt=0, description="variance of the length difference per character (s2)")
    anchor_weight: float = Field(
        250.0, ge=0, description="bonus per matched anchor of weight 1, in cost units (100 * ln); 0: length only"
    )
    anchor_mismatch: float = Field(
        0.5, ge=0, description="penalty per unmatched anchor, as a fraction of the matched bonus"
    )
    punctuation_anchors: bool = Field(True, description="also use ? ! quotation and parenthesis as anchors")
    cognate_weight: float = Field(
        0.5, ge=0, description="weight of a cognate (shared 4-letter word prefix) relative to an anchor; 0: off"
    )
    headline_prior: float | None = Field(
        0.2,
        gt=0,
        le=1,
        description="prior of a 1-0 or 0-1 link for a document's headline (a first sentence "
        "without final punctuation), which is also never merged with body sentences; None: no headline handling",
    )


@dataclass(frozen=True)
class Link:
    """One link of an alignment: 0-based sentence indices on each side (one side may be empty).

    `score` is the link's cost in Gale & Church's units: -100 * ln(prior * P(delta)) minus the anchor bonus
    (see the module docstring). Lower is more confident: a 1-1 link of well-matched lengths costs about 12, a
    1-0 or 0-1 link about 320 with the default priors (about 160 for a headline), and matched anchors can take a
    cost below zero.
    """

    source_ids: tuple[int, ...]
    reference_ids: tuple[int, ...]
    score: float


def align(src: list[str], ref: list[str], config: AlignConfig | None = None) -> list[Link]:
    """Align the sentences of `src` with those of `ref`: monotone links covering every sentence exactly once."""
    config = config or AlignConfig()
    src_len = [_length(s) for s in src]
    ref_len = [_length(s) for s in ref]
    if config.anchor_weight > 0:
        src_anchors, ref_anchors, weights = _anchors(src, ref, config.punctuation_anchors, config.cognate_weight)
        src_sides = _Sides(src_anchors, weights)
        ref_sides = _Sides(ref_anchors, weights)
        bonus: dict | None = {}  # (i, j, di, dj) -> anchor bonus; the same in both passes
    else:
        bonus = None
    prior_cost = {
        shape: -100.0 * math.log(p)
        for shape, p in (
            ((1, 1), config.prior_1_1),
            ((1, 0), config.prior_1_0),
            ((0, 1), config.prior_0_1),
            ((2, 1), config.prior_2_1),
            ((1, 2), config.prior_1_2),
            ((2, 2), config.prior_2_2),
        )
    }
    shapes = [s for s in _SHAPES if max(s) <= config.max_merge]
    headlines = config.headline_prior is not None
    src_headline = headlines and bool(src) and _is_headline(src[0])
    ref_headline = headlines and bool(ref) and _is_headline(ref[0])
    headline_cost = -100.0 * math.log(config.headline_prior) if config.headline_prior is not None else 0.0

    def bead_cost(i: int, j: int, di: int, dj: int, ratio: float) -> float:
        """Cost of the bead holding src[i-di:i] and ref[j-dj:j]."""
        on_src_headline = src_headline and i == di > 0
        on_ref_headline = ref_headline and j == dj > 0
        if (on_src_headline and di > 1) or (on_ref_headline and dj > 1):
            return math.inf  # a headline is not merged with the body's first sentence
        if (on_src_headline and dj and j > dj) or (on_ref_headline and di and i > di):
            return math.inf  # a headline links to the other document's first sentence(s) or to nothing
        if (on_src_headline and not dj) or (on_ref_headline and not di):
            cost = headline_cost
        else:
            cost = prior_cost[(di, dj)]
        if di and dj:
            cost += _length_cost(sum(src_len[i - di : i]), sum(ref_len[j - dj : j]), ratio, config.variance)
        if bonus is not None:
            key = (i, j, di, dj)
            value = bonus.get(key)
            if value is None:
                value = bonus[key] = config.anchor_weight * _anchor_score(
                    src_sides.get(i, di), ref_sides.get(j, dj), weights, config.anchor_mismatch
                )
            cost -= value
        return cost

    def search(cost) -> list[Link]:
        return _search(len(src), len(ref), shapes, cost, src_len, ref_len)

    if config.length_ratio is not None:
        return search(lambda i, j, di, dj: bead_cost(i, j, di, dj, config.length_ratio))
    # The length ratio is unknown: a first pass with the ratio of the document totals (which sentences without
    # a counterpart bias), then passes with the ratio over the 1-1 links the previous pass found.
    ratio = _estimate_ratio(src_len, ref_len)
    links = search(lambda i, j, di, dj, ratio=ratio: bead_cost(i, j, di, dj, ratio))
    for _ in range(_RATIO_PASSES - 1):
        one_to_one = [
            (src_len[k.source_ids[0]], ref_len[k.reference_ids[0]])
            for k in links
            if len(k.source_ids) == 1 and len(k.reference_ids) == 1
        ]
        if len(one_to_one) < _MIN_RATIO_LINKS:
            break
        refined = _estimate_ratio([a for a, _ in one_to_one], [b for _, b in one_to_one])
        if abs(refined - ratio) < 1e-3:
            break
        ratio = refined
        links = search(lambda i, j, di, dj, ratio=ratio: bead_cost(i, j, di, dj, ratio))
    return links


def _search(n: int, m: int, shapes, bead_cost, src_len: list[int], ref_len: list[int]) -> list[Link]:
    """The cheapest monotone sequence of beads from (0, 0) to (n, m): every cell for short documents, a band
    around the diagonal of equal character offsets, widened while the path touches its edge, for long ones."""
    if (n + 1) * (m + 1) <= FULL_SEARCH_CELLS:
        return _search_band(n, m, shapes, bead_cost, [(0, m)] * (n + 1))[0]
    width = BAND_CHARACTERS
    while True:
        band = _band(src_len, ref_len, width)
        links, touched = _search_band(n, m, shapes, bead_cost, band)
        if not touched or all(lo == 0 and hi == m for lo, hi in band):
            return links
        width *= 2


def _band(src_len: list[int], ref_len: list[int], width: int) -> list[tuple[int, int]]:
    """For each source boundary i (0..n), the reference boundaries j whose character offset is within `width`
    characters of the source offset scaled to the reference's length (and at least `BAND_SENTENCES` either side
    of the closest one). Measured in characters, the band holds more sentences where sentences are short, which
    is where the count of sentences drifts furthest from the diagonal."""
    n, m = len(src_len), len(ref_len)
    scale = (sum(ref_len) or 1) / (sum(src_len) or 1)
    ref_offsets = [0] * (m + 1)
    for j, length in enumerate(ref_len):
        ref_offsets[j + 1] = ref_offsets[j] + length
    band, offset = [], 0
    for i in range(n + 1):
        if i:
            offset += src_len[i - 1]
        target = offset * scale
        closest = min(bisect.bisect_left(ref_offsets, target), m)
        if closest and target - ref_offsets[closest - 1] < ref_offsets[closest] - target:
            closest -= 1
        lo = min(bisect.bisect_left(ref_offsets, target - width), closest - BAND_SENTENCES)
        hi = max(bisect.bisect_right(ref_offsets, target + width) - 1, closest + BAND_SENTENCES)
        band.append((max(0, lo), min(m, hi)))
    band[0] = (0, band[0][1])
    band[n] = (band[n][0], m)
    return band


def _search_band(n: int, m: int, shapes, bead_cost, band: list[tuple[int, int]]) -> tuple[list[Link], bool]:
    """Dynamic programme over the cells (i, j) with band[i][0] <= j <= band[i][1]; also whether the cheapest
    path passes through a cell on the band's edge that is not also the edge of the whole table."""
    inf = math.inf
    total: list[list[float]] = []
    back: list[list[tuple[int, int, float] | None]] = []
    for i, (lo, hi) in enumerate(band):
        row = [inf] * (hi - lo + 1)
        choices: list[tuple[int, int, float] | None] = [None] * (hi - lo + 1)
        for j in range(lo, hi + 1):
            if i == 0 and j == 0:
                row[0] = 0.0
                continue
            best, choice = inf, None
            for di, dj in shapes:
                if di > i or dj > j:
                    continue
                plo, phi = band[i - di]
                if not plo <= j - dj <= phi:
                    continue
                before = (row if di == 0 else total[i - di])[j - dj - plo]
                if before == inf:
                    continue
                cost = bead_cost(i, j, di, dj)
                if before + cost < best:
                    best, choice = before + cost, (di, dj, cost)
            row[j - lo] = best
            choices[j - lo] = choice
        total.append(row)
        back.append(choices)
    if total[n][m - band[n][0]] == inf:
        return [], True  # the band does not connect (0, 0) with (n, m)

    links: list[Link] = []
    touched = False
    i, j = n, m
    while i or j:
        lo, hi = band[i]
        touched = touched or (j == lo and lo > 0) or (j == hi and hi < m)
        step = back[i][j - lo]
        assert step is not None  # every cell of a finite-cost path was reached by a bead
        di, dj, cost = step
        links.append(Link(tuple(range(i - di, i)), tuple(range(j - dj, j)), round(cost, 3)))
        i, j = i - di, j - dj
    links.reverse()
    return links, touched


_CLOSERS = "\"'”’»«“‘)]"


def _is_headline(sentence: str) -> bool:
    """Headline-shaped: ends in a letter or digit (closing quotes and brackets aside), not in punctuation.

    Only a document's first sentence is taken for its headline (the caller checks): a line such as "South
    Korea to restore security ties with neighbor" above the body of a web page.
    """
    stripped = sentence.strip().rstrip(_CLOSERS + " ")
    return bool(stripped) and stripped[-1].isalnum()


def _length(sentence: str) -> int:
    """Characters, whitespace runs counted as one space, ends stripped."""
    return len(_SPACE.sub(" ", sentence).strip())


def _estimate_ratio(src_len: list[int], ref_len: list[int]) -> float:
    """Reference characters per source character, kept within [0.2, 5] (English per Chinese character is ~3)."""
    total_src, total_ref = sum(src_len), sum(ref_len)
    if not total_src or not total_ref:
        return 1.0
    return min(5.0, max(0.2, total_ref / total_src))


def _length_cost(l1: int, l2: int, ratio: float, variance: float) -> float:
    """-100 * ln P(delta) for source length l1 and reference length l2 (Gale & Church 1993, section 3)."""
    if l1 == 0 and l2 == 0:
        return 0.0
    mean = (ratio * l1 + l2) / 2.0  # in reference characters, the unit of the difference
    z = abs(ratio * l1 - l2) / math.sqrt(variance * mean)
    return -100.0 * _log_two_tailed(z)


def _log_two_tailed(z: float) -> float:
    """ln(2 * (1 - Phi(z))) = ln erfc(z / sqrt 2), with the asymptotic form where erfc underflows."""
    x = z / math.sqrt(2.0)
    if x < 20.0:
        return math.log(math.erfc(x))
    return -x * x - math.log(x * math.sqrt(math.pi))


def _sentence_tokens(sentence: str, punctuation: bool) -> tuple[Counter, list[tuple[str, bool]]]:
    """Number, quotation and punctuation tokens of a sentence, plus its words with an is-initial flag."""
    tokens: Counter = Counter()
    for number in _NUMBER.findall(sentence):
        tokens[("num", re.sub(r"[.,]", "", number).lstrip("0") or "0")] += 1
    for quoted in _QUOTED.findall(sentence):
        tokens[("quote", _SPACE.sub(" ", quoted).strip().casefold())] += 1
    if punctuation:
        for mark in "?!":
            if mark in sentence:
                tokens[("punct", mark)] += 1
        if any(ch in _QUOTE_CHARS for ch in sentence):
            tokens[("punct", "quotation")] += 1
        if "(" in sentence:
            tokens[("punct", "(")] += 1
    words = [(w, k == 0) for k, w in enumerate(_WORD.findall(sentence))]
    return tokens, words


def _is_name_shaped(word: str) -> bool:
    """Capitalised, an acronym, or mixed with digits or inner capitals ('Japan', 'US', 'K1', 'iPhone')."""
    return len(word) >= 2 and (
        word[0].isupper()
        or any(ch.isupper() for ch in word[1:])
        or (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))
    )


def _is_acronym_like(word: str) -> bool:
    """Trustworthy even sentence-initially: 'US', 'NATO', 'K1', 'iPhone', '#PRS_ORG#'."""
    inner = word.strip("#")
    return (
        sum(ch.isupper() for ch in inner) >= 2
        or any(ch.isdigit() for ch in inner)
        or any(ch.isupper() for ch in inner[1:])
    )


def _anchors(
    src: list[str], ref: list[str], punctuation: bool, cognate_weight: float
) -> tuple[list[Counter], list[Counter], dict]:
    """Per-sentence anchor counts for both documents and each anchor's weight (only anchors on both sides)."""
    src_parsed = [_sentence_tokens(s, punctuation) for s in src]
    ref_parsed = [_sentence_tokens(s, punctuation) for s in ref]

    def name_stats(parsed):
        seen, mid = set(), set()
        for _, words in parsed:
            for word, initial in words:
                if _is_name_shaped(word):
                    seen.add(word)
                    if not initial:
                        mid.add(word)
        return seen, mid

    src_names, src_mid = name_stats(src_parsed)
    ref_names, ref_mid = name_stats(ref_parsed)
    names = {w for w in src_names & ref_names if _is_acronym_like(w) or w in src_mid or w in ref_mid}

    def collect(parsed):
        out = []
        for tokens, words in parsed:
            counts = Counter(tokens)
            for word, _ in words:
                if word in names:
                    counts[("name", word)] += 1
                elif cognate_weight and len(word) >= _COGNATE and word.isalpha():
                    counts[("cognate", word[:_COGNATE].casefold())] += 1
            out.append(counts)
        return out

    src_anchors, ref_anchors = collect(src_parsed), collect(ref_parsed)
    src_df = Counter(t for counts in src_anchors for t in counts)
    ref_df = Counter(t for counts in ref_anchors for t in counts)
    weights = {
        t: (cognate_weight if t[0] == "cognate" else 1.0) / max(src_df[t], ref_df[t])
        for t in src_df.keys() & ref_df.keys()
    }
    src_anchors = [Counter({t: c for t, c in counts.items() if t in weights}) for counts in src_anchors]
    ref_anchors = [Counter({t: c for t, c in counts.items() if t in weights}) for counts in ref_anchors]
    return src_anchors, ref_anchors, weights


class _Sides:
    """The anchors of one sentence or of two adjacent sentences merged, with their total weight (memoised)."""

    def __init__(self, anchors: list[Counter], weights: dict):
        self.weights = weights
        self.single = [(dict(counts), sum(weights[t] * c for t, c in counts.items())) for counts in anchors]
        self.pairs: dict[int, tuple[dict, float]] = {}

    def get(self, end: int, size: int) -> tuple[dict, float]:
        """Sentences end-size .. end-1 (size 0, 1 or 2)."""
        if size == 1:
            return self.single[end - 1]
        if size == 0:
            return {}, 0.0
        pair = self.pairs.get(end)
        if pair is None:
            (first, w1), (second, w2) = self.single[end - 2], self.single[end - 1]
            merged = dict(first)
            for token, count in second.items():
                merged[token] = merged.get(token, 0) + count
            pair = self.pairs[end] = (merged, w1 + w2)
        return pair


def _anchor_score(left: tuple[dict, float], right: tuple[dict, float], weights: dict, mismatch: float) -> float:
    """Sum over anchors of weight * (matched - mismatch * unmatched) for one bead.

    With matched = min(a, b) and unmatched = |a - b| = a + b - 2 min(a, b), the sum is (1 + 2 mismatch) times
    the weighted matches minus mismatch times both sides' total weights, so only shared anchors are visited.
    """
    (a, wa), (b, wb) = left, right
    if not a and not b:
        return 0.0
    if len(b) < len(a):
        a, b = b, a
    matched = 0.0
    for token, count in a.items():
        other = b.get(token)
        if other:
            matched += weights[token] * (count if count < other else other)
    return (1.0 + 2.0 * mismatch) * matched - mismatch * (wa + wb)

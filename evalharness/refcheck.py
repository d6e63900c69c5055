"""A reference stream that is not a reference: mostly in another language than the target, or mostly the source
itself (`references: [ref.en, src.de]`, where copying the source would score 100). Checked when the plan is
made, before any model runs, with the language identification the hypotheses get (evalharness.langid), and by
`score` (command and API) before it scores: one function, so both refuse the same references in the same words.
"""

from __future__ import annotations

import sys

from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.langcodes import LANGUAGES
from evalharness.langid import detect_all

# A stream is refused when more than half of its segments are the source, or when fewer than half of the
# segments whose language can be told are in the target language.
MOST = 0.5


def check_references(dataset: Dataset, *, target_known: bool = True) -> None:
    """Refuse a reference stream that is mostly the source or mostly not in the target language; warn about blank
    segments. `score` has no source without `--src` (its sources are then empty, and that check finds nothing),
    and may have no language pair (`target_known` False: scored as xx-en, the default that only picks BLEU's
    tokenizer): references mostly not in English are then scored, as sacrebleu scores them, with a warning."""
    sources = dataset.segment_sources()
    round_trip = dataset.pivot_lang is not None  # the text is its own reference by design
    for name, stream in zip(dataset.reference_names, dataset.references, strict=True):
        where = f"dataset {dataset.name}: reference {name}"
        blank = [i + 1 for i, ref in enumerate(stream) if not ref.strip()]
        if blank:  # allowed (sacrebleu scores them), but a hypothesis can only lose against an empty reference
            shown = ", ".join(map(str, blank[:5])) + (", ..." if len(blank) > 5 else "")
            print(
                f"warning: {where}: {len(blank)} blank or whitespace-only segments (segment {shown})", file=sys.stderr
            )
        if not round_trip and sources:
            same = sum(
                ref.strip() == src.strip() and bool(ref.strip()) for ref, src in zip(stream, sources, strict=True)
            )
            if same / len(sources) > MOST:
                raise UserError(
                    f"{where}: {same} of {len(sources)} segments are identical to the source; "
                    f"is the source listed among the references?"
                )
        if dataset.target_lang not in LANGUAGES:
            continue  # a language the identifier does not know: nothing to check against
        langs = [lang for lang in detect_all(stream) if lang is not None]
        if langs:
            share = sum(lang == dataset.target_lang for lang in langs) / len(langs)
            if share < MOST:
                top = max(set(langs), key=langs.count)
                found = (
                    f"{where}: only {share:.0%} of its segments are identified as {dataset.target_lang} "
                    f"(most are {top})"
                )
                if not target_known:
                    print(
                        f"warning: {found}; no language pair was given, so it is scored as {dataset.langpair}: "
                        f"give the language pair to have the references checked",
                        file=sys.stderr,
                    )
                    continue
                raise UserError(f"{found}; is it a reference for {dataset.langpair}?")

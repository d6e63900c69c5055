"""Language identification of hypotheses, to catch off-target output (wrong language, copied source).

py3langid ships its model inside the package (no download), so this works offline. Its 97 languages make
short English segments come out as Catalan or Latin now and then; the candidates are limited to the ~20
languages evalharness knows (evalharness.langcodes), which are the languages MT output goes wrong into in
practice. Segments without letters are not judged, and for off-target rates a hypothesis shorter than
MIN_LETTERS letters (a CJK character counts as CJK_WEIGHT letters) counts as unknown: py3langid's guesses on
"So disappointed" (it) or "OK, OK" (hr) are noise that gave every good zh-en system a 0.6-1.2% off-target rate.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from evalharness.cache import digest, model_dir
from evalharness.errors import UserError
from evalharness.langcodes import LANGUAGES
from evalharness.textio import atomic_write
from evalharness.workers import fork_pool

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# Han, kana and Hangul: one character carries about a short word, so it weighs like several Latin letters.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MIN_LETTERS = 20
CJK_WEIGHT = 3
# A system whose off-target rate is above this gets a one-line warning with the likely cause.
WARN_OFF_TARGET = 0.5


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """The restricted identifier. py3langid's model file is xz-compressed: decompressing it takes half a second
    in every command, so the loaded identifier is kept, pickled, beside the converted models (~70 MB, read in
    under 0.1 s), keyed by the package version and the language list. Our own file in our own cache folder."""
    languages = sorted(LANGUAGES)
    path = model_dir() / f"py3langid-{version('py3langid')}-{digest(languages)[:12]}.pickle"
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except Exception:  # missing, damaged or from another Python: build it again
        pass
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE)
    identifier.set_languages([lang for lang in languages if lang in identifier.nb_classes])
    try:
        atomic_write(path, pickle.dumps(identifier, protocol=pickle.HIGHEST_PROTOCOL))
    except (OSError, UserError):
        pass  # an unwritable cache costs time, not correctness
    return identifier


def detect(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when there is nothing to judge (no letters)."""
    if not _LETTER.search(text):
        return None
    code, _ = _identifier().classify(text)
    return code


def detect_all(texts: list[str]) -> list[str | None]:
    """Languages of many texts, each distinct text identified once."""
    memo: dict[str, str | None] = {}
    return [memo[t] if t in memo else memo.setdefault(t, detect(t)) for t in texts]


PARALLEL_TEXTS = 2000  # distinct texts below which forking workers costs more than it saves
CHUNKS_PER_WORKER = 4


def _detect_chunk(texts: list[str]) -> list[str | None]:
    return [detect(text) for text in texts]


def detect_distinct(texts: Iterable[str], workers: int = 1) -> dict[str, str | None]:
    """The language of each distinct text, identified in `workers` forked processes when there are many
    (py3langid walks its byte automaton in Python: ~90 us a segment, 1.6 s for 9 WMT22 systems)."""
    distinct = list(dict.fromkeys(texts))
    if workers <= 1 or len(distinct) < PARALLEL_TEXTS:
        return {text: detect(text) for text in distinct}
    _identifier()  # loaded once here, inherited by the forked workers
    pool = fork_pool(workers)
    if pool is None:
        return {text: detect(text) for text in distinct}
    size = -(-len(distinct) // (workers * CHUNKS_PER_WORKER))
    chunks = [distinct[start : start + size] for start in range(0, len(distinct), size)]
    with pool:
        found = [lang for langs in pool.map(_detect_chunk, chunks) for lang in langs]
    return dict(zip(distinct, found, strict=True))


def long_enough(text: str) -> bool:
    """Whether a text is long enough for its identified language to count (MIN_LETTERS, CJK weighted)."""
    letters = len(_LETTER.findall(text))
    cjk = len(_CJK.findall(text))
    return letters + (CJK_WEIGHT - 1) * cjk >= MIN_LETTERS


def known_languages(texts: list[str], languages: dict[str, str | None]) -> list[str | None]:
    """The languages of `texts` (from detect_distinct's map), None for the texts too short to tell."""
    return [languages.get(text) if long_enough(text) else None for text in texts]


def off_target_rate(languages: list[str | None], target_lang: str) -> float:
    """Share of all segments whose hypothesis was identified as another language than the target."""
    if not languages:
        return 0.0
    off = sum(1 for lang in languages if lang is not None and lang != base_language(target_lang))
    return off / len(languages)


def off_target_warning(
    system: str, languages: list[str | None], target_lang: str, source_lang: str, where: str = ""
) -> str | None:
    """One line when most of a system's output is in another language than the target (rate above
    WARN_OFF_TARGET), naming the language found and its likely cause; None otherwise."""
    rate = off_target_rate(languages, target_lang)
    if rate <= WARN_OFF_TARGET:
        return None
    target, source = base_language(target_lang), base_language(source_lang)
    off = [lang for lang in languages if lang is not None and lang != target]
    top = max(sorted(set(off)), key=off.count)
    if top == source:
        cause = (
            f"most is in the source language ({source}): untranslated or copied output, or a swapped langpair "
            f"(the output is scored as {target}, with {target}'s tokenizer)"
        )
    else:
        cause = (
            f"most is in {top}: the system translated into the wrong language (its target language or prompt), "
            f"or the output belongs to another langpair than {source}-{target}"
        )
    return f"warning: {where}{system}: {rate:.0%} of its segments are not in {target}; {cause}"


def base_language(code: str) -> str:
    """'zh-Hant' or 'zh_TW' -> 'zh' (py3langid knows base languages only)."""
    return re.split(r"[-_]", code)[0].lower()

"""Splitting cleaned document lines into sentences, with pysbd (rule-based, pure Python, MIT).

Why pysbd (0.3.4, pinned: a rule-based splitter's output decides the segments and so the scores): it is pure
Python without dependencies, has German, English and Chinese rules (22 languages, listed in
`pysbd.languages.LANGUAGE_CODES`, so an unsupported code can be refused by name), and gets right what news
text needs: abbreviations (Dr., Mr., U.S., z. B., bzw., Nr.), German ordinals and dates ("im 2. Weltkrieg",
"am 3. Oktober"), numbers (3.5, 1910-1945), quotes closed after the full stop, and Chinese 。！？.
sentencex (Wikimedia, Rust extension) was the other candidate: it handles Chinese quotes but splits German
ordinals ("Im 2." | "Weltkrieg starben viele."), which are everywhere in German news, and it accepts any
language code silently.

pysbd's systematic slips here: it splits *before* a closing quote in Chinese (“这很好。| ”然后...) and in
German with straight quotes ("Wir kommen. | " Sie nickte.), and after an abbreviation in brackets in Chinese
("美国(U.S." | ")表示"). `_repair` mends both without guessing: a piece that starts with the closer of a quote
or bracket that the previous piece left open belongs to that piece.

Each input line is split on its own, so a sentence never spans two lines and a line without final punctuation
(a headline) is a sentence by itself.
"""

from __future__ import annotations

import functools

import pysbd
from pysbd.languages import LANGUAGE_CODES

from evalharness.errors import UserError

SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(sorted(LANGUAGE_CODES))

_BRACKET_PAIRS = (("(", ")"), ("（", "）"), ("[", "]"), ("【", "】"))
_CLOSING_BRACKETS = frozenset(closer for _, closer in _BRACKET_PAIRS)


def _pairs(text: str) -> list[tuple[str, str]]:
    """(opener, closer) pairs as `text` uses them. “ closes a German „...“ but opens an English “...”, and
    »...« (German) is «...» (French) the other way round, so the text decides."""
    pairs = [
        ("„", "“") if "„" in text else ("“", "”"),
        ("‚", "‘") if "‚" in text else ("‘", "’"),
        ("「", "」"),
        ("『", "』"),
        ("《", "》"),
        *_BRACKET_PAIRS,
    ]
    guillemets = [ch for ch in text if ch in "«»"]
    if guillemets:
        pairs.append(("«", "»") if guillemets[0] == "«" else ("»", "«"))
    return pairs


def _open_closers(text: str) -> set[str]:
    """The closing characters of the quotes and brackets that `text` opens and does not close."""
    waiting = {closer for opener, closer in _pairs(text) if text.count(opener) > text.count(closer)}
    if text.count('"') % 2:  # straight double quotes open and close alike (single ones double as apostrophes)
        waiting.add('"')
    return waiting


@functools.cache
def _segmenter(lang: str, spans: bool = False) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang, clean=False, char_span=spans)


# pysbd's time grows with the square of the text's length (a 100 KB line: 3 s, 400 KB: about a minute), and a
# document that is one long line (001 is) would pay that. Its rules look only a few characters around each
# boundary, so a long line is segmented in windows: every sentence but the last two of a window is kept, and the
# next window starts where the first dropped one starts. On 60 KB of German and of Chinese WMT22 text this gives
# exactly the sentences of the whole line at once (a test checks it); pysbd's numbered-list rule looks at the whole
# text, so on English a "child 2." that the whole-line run splits off stays with its sentence here. Lines up to
# WINDOW characters (every seed line) are segmented whole, as before.
WINDOW = 4000  # characters
KEEP_BACK = 2  # sentences at a window's end that the next window decides again


def _segment(line: str, lang: str) -> list[str]:
    if len(line) <= WINDOW:
        return _segmenter(lang).segment(line)
    out: list[str] = []
    pos, width = 0, WINDOW
    while pos < len(line):
        window = line[pos : pos + width]
        spans = _segmenter(lang, spans=True).segment(window)
        if pos + width >= len(line):
            out.extend(span.sent for span in spans)
            break
        if len(spans) <= KEEP_BACK:
            width *= 2  # one sentence longer than the window: look further
            continue
        kept = spans[:-KEEP_BACK]
        out.extend(span.sent for span in kept)
        pos += kept[-1].end
        width = WINDOW
    return out


def check_language(lang: str) -> None:
    """UserError for a language code the sentence splitter has no rules for."""
    if lang not in LANGUAGE_CODES:
        raise UserError(
            f"sentence splitting: language {lang!r} is not supported (supported: {', '.join(SUPPORTED_LANGUAGES)})"
        )


def _repair(pieces: list[str]) -> list[str]:
    """Give a piece's leading closing quote back to the previous piece; rejoin a piece cut inside brackets."""
    out: list[str] = []
    for piece in pieces:
        if out:
            waiting = _open_closers(out[-1])
            if piece[:1] in waiting and piece[:1] in _CLOSING_BRACKETS:
                out[-1] = out[-1].rstrip() + piece  # "美国(U.S." + ")表示..." is one sentence
                continue
            moved = 0
            while moved < len(piece) and piece[moved] in waiting:
                waiting.discard(piece[moved])
                moved += 1
            if moved:
                out[-1] = out[-1].rstrip() + piece[:moved]
                piece = piece[moved:].strip()
                if not piece:
                    continue
        out.append(piece)
    return out


def split_line(line: str, lang: str) -> list[str]:
    """The sentences of one line, stripped, without empties."""
    check_language(lang)
    line = line.strip()
    if not line:
        return []
    pieces = [piece.strip() for piece in _segment(line, lang)]
    return _repair([piece for piece in pieces if piece])


def split_sentences(text_lines: list[str], lang: str) -> list[str]:
    """Split each line into sentences (never across lines); whitespace stripped, empty lines and pieces dropped.

    `lang` is an ISO 639-1 code that pysbd knows (UserError naming the supported ones otherwise).
    """
    check_language(lang)
    sentences: list[str] = []
    for line in text_lines:
        sentences.extend(split_line(line, lang))
    return sentences

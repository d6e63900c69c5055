"""Cleaning a raw document: keep the body lines, drop web-page boilerplate, and say which rule dropped what.

Each rule is a small named predicate on one (stripped) line; the first rule that matches names the drop. The
rules are general (dates, breadcrumbs, link lines, footers, foreign script...), not a list of known lines, and
they are deliberately conservative: a rule matches a line that is *only* boilerplate, never a line that merely
contains a boilerplate word, because dropping a real body sentence costs a segment pair while a leftover
boilerplate line is left unaligned by the aligner later. Every rule group can be switched off in `CleanConfig`.

Rules, in the order they are tried (rule name: what it matches):

- empty lines: dropped silently, not listed.
- `punctuation_only`: no letter and no digit ("`:`", "`***`", "`•`").
- `foreign_script`: at least `foreign_script_min_letters` letters, and less than `foreign_script_min_share` of
  them in the scripts of the document's language (script from the language's NLLB-200 code: Latin for de/en,
  Han for zh, Hangul and Han for ko...; an unknown code is a UserError), e.g. a Cyrillic ad in an English page or a
  Latin-script ad in Chinese.
- `date`: the line is only a date or dateline: every word is a weekday, month, dateline word ("Published",
  "Updated", "Stand", "Uhr", "发布"...) and it has a numeric date, a time or a month/weekday name.
- `breadcrumb`: "Home / World / Asia" or "Start > Politik > Ausland": a home word followed by a separator, or
  at least three short parts (at most four words each) joined by the same separator (/ | > » › →, with spaces
  around it), and no sentence-final punctuation.
- `read_more`: a link or related-content line: starts with "READ MORE", or "Read more:", "Related:",
  "See also:", "Lesen Sie auch:"... followed by a colon/arrow/dash, or is just such a heading ("Check Also").
- `copyright`, `comment_form`, `share`, `advertisement` (group `drop_footer`): a short line with "©" or
  "All rights reserved"; a short line starting with "Leave a Reply", "Your email address will not be
  published", "Share this article", "Sign up for our newsletter", "Link copied" (after a leading bullet);
  a line that is just "Comments", "Share", "Tweet", "Advertisement", "Anzeige", "广告". A body sentence that
  starts with such a word ("Share prices fell...") is kept.
- `byline`: "By Jane Doe" / "Von Jane Doe": the marker, then at most four capitalised words, no full stop.
- `extra_patterns[i]`: the i-th configured regular expression is found in the line.
- `short_fragment`: at most `short_fragment_max_words` words (for zh/ja: twice as many characters), no digit
  and no sentence-final punctuation ("Menu", "Login").
- `trailer`: everything after an end-of-article marker that lies in the second half of the document: a
  copyright notice with a year or "All rights reserved", a comment form, or a related-content heading
  ("Check Also", "You may also like"). What follows such a marker on a web page is teasers for other articles
  and the comment form. Lines after the marker that another rule matches keep that rule's name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pydantic import Field, field_validator

from evalharness import langcodes
from evalharness.configtypes import Strict
from evalharness.errors import UserError


class CleanConfig(Strict):
    """Which cleaning rules run. Every rule group is on by default."""

    drop_punctuation_only: bool = True
    drop_foreign_script: bool = True
    foreign_script_min_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="a line with less than this share of its letters in the language's script(s) is foreign",
    )
    foreign_script_min_letters: int = Field(default=2, ge=1, description="shorter lines are never foreign")
    drop_dates: bool = True
    drop_breadcrumbs: bool = True
    drop_read_more: bool = True
    drop_footer: bool = True
    drop_bylines: bool = True
    drop_short_fragments: bool = True
    short_fragment_max_words: int = Field(default=2, ge=1)
    drop_trailer: bool = True
    extra_patterns: list[str] = Field(
        default_factory=list, description="regular expressions (Python re); a line in which one is found is dropped"
    )

    @field_validator("extra_patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"extra_patterns: {pattern!r} is not a valid regular expression ({err})") from err
        return patterns


@dataclass
class CleanResult:
    """The body lines kept, in order, and the lines dropped as (1-based line number, line, rule name)."""

    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[int, str, str]] = field(default_factory=list)


# --- scripts ---------------------------------------------------------------------------------------------------

# NLLB-200 script suffix -> the Unicode character-name prefixes of letters written in it.
_SCRIPT_PREFIXES: dict[str, tuple[str, ...]] = {
    "Latn": ("LATIN",),
    "Cyrl": ("CYRILLIC",),
    "Arab": ("ARABIC",),
    "Deva": ("DEVANAGARI",),
    "Grek": ("GREEK",),
    "Hebr": ("HEBREW",),
    "Thai": ("THAI",),
    "Hans": ("CJK",),
    "Hant": ("CJK",),
    "Jpan": ("CJK", "HIRAGANA", "KATAKANA"),
    "Hang": ("HANGUL", "CJK"),
}
_CJK_PREFIXES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
_UNSPACED_LANGS = {"zh", "ja", "th"}


def _letter_script(ch: str) -> str:
    """The Unicode name's first word(s) that identify the script of a letter ("LATIN", "CJK", "CYRILLIC")."""
    name = unicodedata.name(ch, "")
    if name.startswith(("FULLWIDTH LATIN", "HALFWIDTH LATIN")):
        return "LATIN"
    if name.startswith("HALFWIDTH KATAKANA"):
        return "KATAKANA"
    return name.split(" ", 1)[0]


def expected_scripts(lang: str) -> tuple[str, ...]:
    """Script name prefixes of a language's letters; UserError for a language code evalharness does not know."""
    if lang not in langcodes.LANGUAGES:
        raise UserError(f"cleaning: language {lang!r} is not known (known: {', '.join(sorted(langcodes.LANGUAGES))})")
    script = langcodes.nllb(lang).split("_")[1]
    return _SCRIPT_PREFIXES.get(script, (script.upper(),))


def _letters(line: str) -> list[str]:
    return [ch for ch in line if ch.isalpha()]


def _is_cjk(ch: str) -> bool:
    return _letter_script(ch).startswith(_CJK_PREFIXES)


# --- rule helpers ----------------------------------------------------------------------------------------------

_SENTENCE_END = ".!?。！？…;；:"
_QUOTES_AND_BRACKETS = "\"'“”„‟‘’‚›‹»«」』）)]】》"

_DATE_WORDS_EN = """
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
published updated posted modified last date time on at of the am pm a m p st nd rd th
gmt utc bst cet cest est edt pst pdt kst jst
"""
_DATE_WORDS_DE = """
montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag mo di mi do fr sa so
januar jänner februar märz mai juni juli oktober dezember mär okt dez
veröffentlicht aktualisiert zuletzt erstellt stand datum am um uhr den vom mez mesz
"""
_DATE_WORDS = frozenset((_DATE_WORDS_EN + _DATE_WORDS_DE).split())
_NAMED_DATE_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december jan feb mar apr jun jul aug sep sept oct nov dec "
    "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag januar jänner februar märz mai juni "
    "juli oktober dezember mär okt dez".split()
)
# CJK date words are removed as substrings (no spaces between words); the numbers are kept to be checked.
_CJK_DATE_WORDS = sorted(
    "发布时间 更新时间 发表时间 发布日期 发布 更新 时间 日期 "
    "星期一 星期二 星期三 星期四 星期五 星期六 星期日 星期天 "
    "周一 周二 周三 周四 周五 周六 周日 年 月 日 时 点 分 秒 上午 下午".split(),
    key=len,
    reverse=True,
)
_NUMERIC_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}"  # 2023-03-12, 2023/3/12, 2023年3月12日
    r"|\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}"  # 12.03.2023, 03/12/23
    r"|\d{1,2}\s*[:.]\s*\d{2}(?!\d)"  # 10:45, 10.45 Uhr
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日"  # 3月12日
)

_HOME_WORDS = r"home|homepage|start|startseite|news|首页|主页|新闻"
# Separators only with spaces around them: "and/or", "2022/23" and German »quotes« are not breadcrumbs.
_CRUMB_SEPARATORS = tuple(re.compile(rf"\s+{separator}\s+") for separator in ("/", r"\|", ">", "»", "›", "→", "＞"))

_READ_MORE_PHRASES = (
    r"read more|read also|also read|more on this|more on this story|see also|related|related articles?|"
    r"related stories|related posts|related news|related content|related coverage|recommended|"
    r"lesen sie auch|lesen sie mehr|mehr zum thema|weiterlesen|auch interessant|siehe auch|"
    r"延伸阅读|相关阅读|相关新闻|推荐阅读|阅读更多|更多阅读"
)
_READ_MORE_LINK = re.compile(rf"^(?:{_READ_MORE_PHRASES})\s*(?:[:：»›>→]|[-–—]\s)", re.IGNORECASE)
_READ_MORE_CAPS = re.compile(r"^READ (?:MORE|ALSO)\b")
# Headings of a related-content block: the whole line is the heading. They also end the article (trailer).
_RELATED_HEADING = re.compile(
    r"check also|see also|related|related articles?|related stories|related posts|related news|related content|"
    r"more stories|more news|more from [\w ]{1,30}|you may also like|you might also like|"
    r"recommended(?: for you)?|most read|most popular|trending(?: now)?|top stories|"
    r"lesen sie auch|mehr zum thema|das könnte sie auch interessieren|weitere artikel|meistgelesen|"
    r"相关新闻|相关阅读|延伸阅读|推荐阅读|热门文章|更多新闻",
    re.IGNORECASE,
)
# A link line that is just "Read more" (a teaser's link; mid-page on a listing, so not an end marker).
_READ_MORE_ALONE = re.compile(r"read more|continue reading|weiterlesen|mehr lesen|阅读更多|阅读全文", re.IGNORECASE)

# "©" anywhere, "(c) 2023", or "Copyright 2023" at the start ("Copyright law reform passed" is a headline).
_COPYRIGHT_SIGN = re.compile(r"©|\(c\)\s*(?:19|20)\d{2}|^copyright\s+(?:\(c\)\s*)?(?:19|20)\d{2}", re.IGNORECASE)
_RIGHTS_RESERVED = re.compile(r"all rights reserved|alle rechte vorbehalten|版权所有|保留所有权利", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# Comment forms and sharing widgets: a phrase that starts the line (followed by little else), or a word that is
# the whole line ("Comments", "Share": a body sentence may well start with "Share prices...").
_COMMENT_FORM_START = re.compile(
    r"^(?:leave a (?:reply|comment)|post a comment|add a comment|write a comment|comments are closed|"
    r"your email address will not be published|required fields are marked|"
    r"kommentar (?:schreiben|verfassen|hinterlassen)|ihre e-mail-adresse wird nicht veröffentlicht|"
    r"erforderliche felder sind|发表评论)(?!\w)",
    re.IGNORECASE,
)
_COMMENT_FORM_ALONE = re.compile(r"(?:\d+ )?(?:comments?|replies|kommentare?|评论)", re.IGNORECASE)
_SHARE_START = re.compile(
    r"^(?:share this(?: article| story| post| page)?|share on (?:facebook|twitter|x|whatsapp|linkedin)|"
    r"link copied|copy link|sign up (?:for|to) (?:our|the) [\w ]*newsletters?|"
    r"subscribe to (?:our|the) [\w ]*newsletters?|follow us on|artikel teilen|link kopiert|"
    r"newsletter abonnieren|melden sie sich für unseren newsletter an|分享到)(?!\w)",
    re.IGNORECASE,
)
_SHARE_ALONE = re.compile(r"share|tweet|email|print|teilen|drucken|分享", re.IGNORECASE)
_ADVERTISEMENT = re.compile(r"advertisement|advertising|sponsored(?: content)?|anzeige|werbung|广告", re.IGNORECASE)
_BYLINE_MARKERS = {"en": "By", "de": "Von", "fr": "Par", "es": "Por", "it": "Di"}

_FOOTER_WORDS_MAX = 20  # footer rules only judge short lines; a long line is body text


def _word_count(line: str) -> int:
    return len(line.split())


def _core(line: str) -> str:
    """The line without leading bullets/punctuation and trailing punctuation, for matching whole-line phrases."""
    return re.sub(r"^[^\w(©]+|[\s.!:;,*…]+$", "", line)


def _is_punctuation_only(line: str, lang: str, config: CleanConfig) -> bool:
    return not any(ch.isalnum() for ch in line)


def _is_foreign_script(line: str, lang: str, config: CleanConfig) -> bool:
    letters = _letters(line)
    if len(letters) < config.foreign_script_min_letters:
        return False
    expected = expected_scripts(lang)
    native = sum(1 for ch in letters if _letter_script(ch).startswith(expected))
    return native / len(letters) < config.foreign_script_min_share


def _is_date(line: str, lang: str, config: CleanConfig) -> bool:
    lowered = line.lower()
    named = False
    for token in re.findall(r"[^\W\d_]+", lowered):
        if token in _DATE_WORDS:
            named = named or token in _NAMED_DATE_WORDS
            continue
        if all(_is_cjk(ch) for ch in token):
            rest = token
            for word in _CJK_DATE_WORDS:
                rest = rest.replace(word, "")
            if not rest:
                continue
        return False
    if not any(ch.isdigit() for ch in line):
        return False
    return named or bool(_NUMERIC_DATE.search(line))


def _is_breadcrumb(line: str, lang: str, config: CleanConfig) -> bool:
    if line[-1:] in _SENTENCE_END:
        return False
    for separator in _CRUMB_SEPARATORS:
        parts = [part.strip() for part in separator.split(line)]
        if len(parts) < 2 or not all(parts):
            continue
        if re.fullmatch(_HOME_WORDS, parts[0], re.IGNORECASE):
            return True
        if len(parts) >= 3 and all(_word_count(part) <= 4 for part in parts):
            return True
    return False


def _is_read_more(line: str, lang: str, config: CleanConfig) -> bool:
    core = _core(line)
    return bool(
        _READ_MORE_CAPS.match(line)
        or _READ_MORE_LINK.match(line)
        or _RELATED_HEADING.fullmatch(core)
        or _READ_MORE_ALONE.fullmatch(core)
    )


def _is_copyright(line: str, lang: str, config: CleanConfig) -> bool:
    if _word_count(line) > _FOOTER_WORDS_MAX:
        return False
    return bool(_COPYRIGHT_SIGN.search(line) or _RIGHTS_RESERVED.search(line))


def _is_comment_form(line: str, lang: str, config: CleanConfig) -> bool:
    core = _core(line)
    if _COMMENT_FORM_ALONE.fullmatch(core):
        return True
    return _word_count(line) <= _FOOTER_WORDS_MAX and bool(_COMMENT_FORM_START.match(core))


def _is_share(line: str, lang: str, config: CleanConfig) -> bool:
    core = _core(line)
    if _SHARE_ALONE.fullmatch(core):
        return True
    match = _SHARE_START.match(core)
    # The phrase followed by little else ("Share this article on Facebook", "Sign up for our newsletter here").
    return match is not None and _word_count(core[match.end() :]) <= 6


def _is_advertisement(line: str, lang: str, config: CleanConfig) -> bool:
    return bool(_ADVERTISEMENT.fullmatch(_core(line)))


def _is_byline(line: str, lang: str, config: CleanConfig) -> bool:
    marker = _BYLINE_MARKERS.get(lang)
    words = line.split()
    if marker is None or len(words) < 2 or len(words) > 5 or words[0] != marker:
        return False
    if line[-1:] in ".!?":
        return False
    # Names: every word after the marker starts with a capital letter (or is "and"/"und" between names).
    return all(word[:1].isupper() or word in ("and", "und", "&", "et", "y", "e") for word in words[1:])


def _is_short_fragment(line: str, lang: str, config: CleanConfig) -> bool:
    if line[-1:] in _SENTENCE_END or line[-1:] in _QUOTES_AND_BRACKETS or any(ch.isdigit() for ch in line):
        return False
    if lang in _UNSPACED_LANGS:
        return len(_letters(line)) <= 2 * config.short_fragment_max_words
    return _word_count(line) <= config.short_fragment_max_words


# (rule name, config switch, predicate), tried in this order; the first match names the drop.
_RULES = (
    ("punctuation_only", "drop_punctuation_only", _is_punctuation_only),
    ("foreign_script", "drop_foreign_script", _is_foreign_script),
    ("date", "drop_dates", _is_date),
    ("breadcrumb", "drop_breadcrumbs", _is_breadcrumb),
    ("read_more", "drop_read_more", _is_read_more),
    ("copyright", "drop_footer", _is_copyright),
    ("comment_form", "drop_footer", _is_comment_form),
    ("share", "drop_footer", _is_share),
    ("advertisement", "drop_footer", _is_advertisement),
    ("byline", "drop_bylines", _is_byline),
)


def _ends_article(line: str) -> bool:
    """An end-of-article marker: a full copyright notice, a comment form, or a related-content heading."""
    if _word_count(line) > _FOOTER_WORDS_MAX:
        return False
    full_copyright = bool(_RIGHTS_RESERVED.search(line)) or (
        bool(_COPYRIGHT_SIGN.search(line)) and bool(_YEAR.search(line))
    )
    core = _core(line)
    return full_copyright or bool(_COMMENT_FORM_START.match(core)) or bool(_RELATED_HEADING.fullmatch(core))


def rule_for(line: str, lang: str, config: CleanConfig | None = None) -> str | None:
    """The name of the first rule that drops this (stripped, non-empty) line, or None to keep it."""
    config = config or CleanConfig()
    for name, switch, predicate in _RULES:
        if getattr(config, switch) and predicate(line, lang, config):
            return name
    for index, pattern in enumerate(config.extra_patterns):
        if re.search(pattern, line):
            return f"extra_patterns[{index}]"
    if config.drop_short_fragments and _is_short_fragment(line, lang, config):
        return "short_fragment"
    return None


def clean(text: str, lang: str, config: CleanConfig | None = None) -> CleanResult:
    """Split a raw document into lines and keep its body lines (stripped), listing every line dropped and why.

    `lang` is the document's ISO 639-1 code (UserError if evalharness does not know it). Lines are split on
    "\\n" only (a "\\r" before it is removed), so the line numbers are those an editor shows.
    """
    config = config or CleanConfig()
    expected_scripts(lang)  # an unknown language code is the user's error, whatever the text
    result = CleanResult()
    lines = text.split("\n")
    total = len(text) or 1
    offset = 0
    in_trailer = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        start, offset = offset, offset + len(raw) + 1
        if not line:
            continue
        rule = rule_for(line, lang, config)
        if rule is None and in_trailer:
            rule = "trailer"
        if rule is None:
            result.kept.append(line)
        else:
            result.dropped.append((number, line, rule))
        if config.drop_trailer and not in_trailer and start / total >= 0.5 and _ends_article(line):
            in_trailer = True
    return result


def format_dropped(result: CleanResult) -> str:
    """A human-readable report of the dropped lines (for cleaning/<dataset>.txt): line number, rule, text."""
    if not result.dropped:
        return f"no lines dropped, {len(result.kept)} kept\n"
    width = max(len(rule) for _, _, rule in result.dropped)
    rows = [f"{number:>5}  {rule:<{width}}  {line}" for number, line, rule in result.dropped]
    header = f"{len(result.dropped)} lines dropped, {len(result.kept)} kept (line number, rule, text):"
    return "\n".join([header, *rows]) + "\n"

"""Cleaning raw documents and splitting them into sentences: the user's seed articles and hand-made edge cases."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest
from evalharness.documents.clean import CleanConfig, clean, format_dropped, rule_for
from evalharness.documents.split import split_sentences
from evalharness.errors import UserError

from conftest import wmt22_path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_LANGS = {"000": "en", "001": "de", "002": "en", "003": "en", "004": "en"}

# Established by reading the seeds: every line that is not article body, and the rule that should drop it.
EXPECTED_DROPPED = {
    "000": {
        1: "date",  # Wednesday , April 24 2024
        2: "foreign_script",  # Kwork.ru - услуги фрилансеров от 500 руб.
        3: "breadcrumb",  # Home / WORLD / South Korea to restore security ties with neighbor
        11: "foreign_script",  # the same Russian ad again
        17: "read_more",  # READ MORE: South Korea brands North ‘enemy’ – Yonhap
        25: "read_more",  # READ MORE: US issues nuclear warning to North Korea
        31: "copyright",  # © 2022, paradox. All rights reserved.
        33: "read_more",  # Check Also
        35: "trailer",  # WATCH Russian military destroy massive TV tower in Ukraine (teaser of another article)
        37: "trailer",  # The Russian military conducted a high-precision strike ... located in the …
        39: "comment_form",  # Leave a Reply
        41: "comment_form",  # Your email address will not be published. Required fields are marked *
    },
    "001": {3: "punctuation_only"},  # ":"
    "002": {},
    "003": {1: "date"},  # " date 2023-03-18 18.03.2023"
    "004": {
        3: "foreign_script",  # 지나쌤
        7: "byline",  # By KH디지털2
        9: "date",  # Published : June 24, 2015 - 09:40
        11: "share",  # "    • Link copied"
    },
}


def seed(prefix: str) -> str:
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.fail(f"test data missing: {SEEDS}/{prefix}_*.txt")
    return matches[0].read_text(encoding="utf-8")


def cleaned(prefix: str):
    return clean(seed(prefix), SEED_LANGS[prefix])


def seed_sentences(prefix: str) -> list[str]:
    return split_sentences(cleaned(prefix).kept, SEED_LANGS[prefix])


# --- cleaning: the seeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", sorted(SEED_LANGS))
def test_seed_drops_exactly_the_expected_lines(prefix):
    result = cleaned(prefix)
    assert {number: rule for number, _, rule in result.dropped} == EXPECTED_DROPPED[prefix]


@pytest.mark.parametrize("prefix", sorted(SEED_LANGS))
def test_seed_keeps_every_other_line_in_order(prefix):
    lines = seed(prefix).split("\n")
    body = [
        line.strip() for number, line in enumerate(lines, 1) if line.strip() and number not in EXPECTED_DROPPED[prefix]
    ]
    assert cleaned(prefix).kept == body


@pytest.mark.parametrize(
    "prefix, line",
    [
        ("000", "South Korea to restore security ties with neighbor"),  # the headline
        (
            "001",
            "Seoul plant, die Zusammenarbeit mit Japan zu „normalisieren“, um bei der Bewältigung von Bedrohungen "
            "aus Nordkorea zu helfen",
        ),
        ("002", "It would be the first visit by a South Korean foreign minister since November 2019."),
        ("003", "First summit in 12 years"),  # a sub-heading with a number
        ("003", "North Korea launches rocket at unknown location on March 10, 2023"),  # has a date, is not one
        ("003", "(AFP, China News Agency, etc.)"),  # source credit, also in the original
        ("004", "S. Korea, Japan to boost defense ties this year"),
        (
            "004",
            "In October, Seoul and Tokyo also plan to hold their joint naval search and rescue exercise, another "
            "official said.",
        ),
    ],
)
def test_seed_real_lines_are_kept(prefix, line):
    assert line in cleaned(prefix).kept


def test_seed_german_body_line_is_kept_whole():
    kept = cleaned("001").kept
    assert len(kept) == 2 and kept[1].startswith("Südkorea versucht") and kept[1].endswith("5 Millionen Tote.")


def test_dropped_lines_are_listed_stripped_with_their_line_number():
    assert (11, "• Link copied", "share") in cleaned("004").dropped  # "    • Link copied" in the file


def test_empty_lines_are_dropped_silently():
    result = clean("Body sentence one.\n\n   \nBody sentence two.\n", "en")
    assert result.kept == ["Body sentence one.", "Body sentence two."]
    assert result.dropped == []


def test_format_dropped_lists_number_rule_and_text():
    report = format_dropped(cleaned("000"))
    assert report.startswith("12 lines dropped, 10 kept")
    assert re.search(r"^\s+17\s+read_more\s+READ MORE: South Korea brands North", report, re.MULTILINE)
    assert re.search(r"^\s+2\s+foreign_script\s+Kwork\.ru", report, re.MULTILINE)
    assert len(report.splitlines()) == 13


def test_format_dropped_says_when_nothing_was_dropped():
    assert format_dropped(cleaned("002")) == "no lines dropped, 17 kept\n"


# --- cleaning: one rule at a time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, lang",
    [
        ("Kwork.ru - услуги фрилансеров от 500 руб.", "en"),  # Cyrillic ad in English
        ("韩国将全面恢复与日本的军事情报共享协定。", "en"),  # CJK line in English
        ("Kwork.ru - freelance services from 500 rub.", "zh"),  # Latin-script ad in Chinese
        ("Jetzt günstig online kaufen", "ru"),
    ],
)
def test_foreign_script_lines_are_dropped(line, lang):
    assert rule_for(line, lang) == "foreign_script"


@pytest.mark.parametrize(
    "line, lang",
    [
        ("韩国将全面恢复与日本的军事情报共享协定GSOMIA。", "zh"),  # Latin acronym inside Chinese
        ("Der Präsident Yoon Suk-yeol (윤석열) reiste nach Tokio.", "de"),  # a name in Hangul inside German
        ("Seoul und Tokio, 서울 und 東京, einigten sich.", "de"),
    ],
)
def test_lines_mostly_in_the_languages_script_are_kept(line, lang):
    assert rule_for(line, lang) is None


@pytest.mark.parametrize(
    "line, lang",
    [
        ("Published: 12 March 2023 10:45", "en"),
        ("2023-03-12", "en"),
        ("Wednesday , April 24 2024", "en"),
        ("Updated 10:45 GMT", "en"),
        ("Veröffentlicht am 12. März 2023, 10:45 Uhr", "de"),
        ("Stand: 12.03.2023", "de"),
        ("2023年3月12日 10:45", "zh"),
        ("发布时间：2023-03-12", "zh"),
    ],
)
def test_date_lines_are_dropped(line, lang):
    assert rule_for(line, lang) == "date"


@pytest.mark.parametrize(
    "line, lang",
    [
        ("North Korea launches rocket at unknown location on March 10, 2023", "en"),
        ("March 2023 was a turbulent month.", "en"),
        ("Am 12. März 2023 trafen sich die Minister.", "de"),
        ("2023年3月12日，两国领导人在东京会面。", "zh"),
    ],
)
def test_sentences_with_dates_are_kept(line, lang):
    assert rule_for(line, lang) is None


@pytest.mark.parametrize(
    "line",
    [
        "Home > World > Asia",
        "Home / WORLD / South Korea to restore security ties",
        "Start › Politik › Ausland",
        "News | World | Asia",
    ],
)
def test_breadcrumbs_are_dropped(line):
    assert rule_for(line, "en") == "breadcrumb"


@pytest.mark.parametrize(
    "line",
    [
        "He chose speed and/or safety in the 2022/23 season.",
        "Seoul / Tokyo talks resume",
        "Er sagte »ja« und »nein« zum Abkommen",
    ],
)
def test_slashes_in_text_are_not_breadcrumbs(line):
    assert rule_for(line, "en") is None


@pytest.mark.parametrize(
    "line, lang",
    [
        ("READ MORE: US issues nuclear warning to North Korea", "en"),
        ("Read more", "en"),
        ("Related: Seoul and Tokyo agree on intelligence pact", "en"),
        ("Check Also", "en"),
        ("Lesen Sie auch: Seoul und Tokio einig", "de"),
        ("相关新闻：韩日恢复军事情报共享", "zh"),
    ],
)
def test_read_more_and_related_lines_are_dropped(line, lang):
    assert rule_for(line, lang) == "read_more"


@pytest.mark.parametrize("line", ["Related talks will follow next week.", "Read more about it in the report."])
def test_sentences_starting_with_read_more_words_are_kept(line):
    assert rule_for(line, "en") is None


@pytest.mark.parametrize(
    "line, rule",
    [
        ("© 2022, paradox. All rights reserved.", "copyright"),
        ("Copyright 2023 Example News", "copyright"),
        ("Alle Rechte vorbehalten.", "copyright"),
        ("Leave a comment", "comment_form"),
        ("Leave a Reply", "comment_form"),
        ("Your email address will not be published. Required fields are marked *", "comment_form"),
        ("Sign up for our newsletter", "share"),
        ("Share this article", "share"),
        ("• Link copied", "share"),
        ("Advertisement", "advertisement"),
        ("ANZEIGE", "advertisement"),
    ],
)
def test_footer_lines_are_dropped(line, rule):
    assert rule_for(line, "de" if line in ("Alle Rechte vorbehalten.", "ANZEIGE") else "en") == rule


@pytest.mark.parametrize(
    "line",
    [
        "Share prices fell sharply on Monday.",
        "Comments by the minister drew criticism.",
        "Copyright law reform passed parliament",
        "He urged readers to leave a comment on the ministry's website before the deadline next month, the "
        "official said.",
    ],
)
def test_sentences_with_footer_words_are_kept(line):
    assert rule_for(line, "en") is None


@pytest.mark.parametrize("line", [":", "***", "—", "• • •", "…"])
def test_punctuation_only_lines_are_dropped(line):
    assert rule_for(line, "en") == "punctuation_only"


@pytest.mark.parametrize(
    "line, lang, rule",
    [
        ("By Jane Doe", "en", "byline"),
        ("By KH디지털2", "en", "byline"),
        ("Von Seoul nach Tokio", "de", None),
        ("By 2030 emissions must halve.", "en", None),
    ],
)
def test_bylines(line, lang, rule):
    assert rule_for(line, lang) == rule


@pytest.mark.parametrize(
    "line, lang, rule",
    [
        ("Menu", "en", "short_fragment"),
        ("Nordkorea", "de", "short_fragment"),
        ("背景", "zh", "short_fragment"),
        ("Kim Jong Un", "en", None),
        ("Ja.", "de", None),
        ("First summit in 12 years", "en", None),
    ],
)
def test_short_fragments(line, lang, rule):
    assert rule_for(line, lang) == rule


def test_trailer_drops_teasers_after_a_copyright_notice_near_the_end():
    body = "\n".join(f"Body sentence number {i} of the article." for i in range(10))
    text = f"{body}\n© 2023 Example News. All rights reserved.\nWATCH Something else entirely\nA teaser …\n"
    result = clean(text, "en")
    assert [rule for _, _, rule in result.dropped] == ["copyright", "trailer", "trailer"]
    assert len(result.kept) == 10


def test_trailer_does_not_start_in_the_first_half():
    body = "\n".join(f"Body sentence number {i} of the article." for i in range(10))
    result = clean(f"© 2023 Example News. All rights reserved.\n{body}\n", "en")
    assert [rule for _, _, rule in result.dropped] == ["copyright"]
    assert len(result.kept) == 10


def test_a_photo_credit_does_not_start_the_trailer():
    body = "\n".join(f"Body sentence number {i} of the article." for i in range(10))
    result = clean(f"{body}\nPhoto: © AFP\nThe last body sentence.\n", "en")
    assert result.kept[-1] == "The last body sentence."


def test_each_rule_group_can_be_switched_off():
    text = seed("000")
    config = CleanConfig(
        drop_punctuation_only=False,
        drop_foreign_script=False,
        drop_dates=False,
        drop_breadcrumbs=False,
        drop_read_more=False,
        drop_footer=False,
        drop_bylines=False,
        drop_trailer=False,
        drop_short_fragments=False,
    )
    assert clean(text, "en", config).dropped == []


def test_switching_off_one_group_keeps_only_its_lines():
    result = clean(seed("000"), "en", CleanConfig(drop_foreign_script=False))
    assert result.kept.count("Kwork.ru - услуги фрилансеров от 500 руб.") == 2
    assert "foreign_script" not in {rule for _, _, rule in result.dropped}


def test_extra_patterns_drop_matching_lines_and_name_the_pattern():
    result = clean(
        "Body sentence.\nPhoto: Reuters\nAnother body sentence.\n", "en", CleanConfig(extra_patterns=[r"^Photo:"])
    )
    assert result.dropped == [(2, "Photo: Reuters", "extra_patterns[0]")]


def test_invalid_extra_pattern_is_a_config_error():
    with pytest.raises(pydantic.ValidationError, match="not a valid regular expression"):
        CleanConfig(extra_patterns=["(unclosed"])


def test_clean_config_rejects_unknown_keys():
    with pytest.raises(pydantic.ValidationError):
        CleanConfig(drop_everything=True)


def test_clean_unknown_language_is_a_user_error():
    with pytest.raises(UserError, match=r"'xx' is not known \(known: .*de.*\)"):
        clean("Some text.", "xx")


def test_line_numbers_count_windows_line_endings_once():
    result = clean("Body sentence.\r\n:\r\nAnother one.\r\n", "en")
    assert result.dropped == [(2, ":", "punctuation_only")]
    assert result.kept == ["Body sentence.", "Another one."]


# --- splitting: the seeds --------------------------------------------------------------------------------------


def test_german_seed_splits_into_seventeen_sentences():
    assert len(seed_sentences("001")) == 17  # the headline + 16 body sentences (the English body has 17)


@pytest.mark.parametrize(
    "sentence",
    [
        "Seoul plant, die Zusammenarbeit mit Japan zu „normalisieren“, um bei der Bewältigung von Bedrohungen aus "
        "Nordkorea zu helfen",
        "Die Gespräche waren das erste persönliche Treffen zwischen südkoreanischen und japanischen "
        "Verteidigungschefs seit November 2019.",
        "Japan reagierte mit neuen Beschränkungen für den Export wichtiger Hightech-Materialien nach Südkorea.",
        "Washington hat eine „schnelle und energische Reaktion“ versprochen, wenn ein solcher Test stattfindet.",
        "Der Koreakrieg forderte fast 5 Millionen Tote.",
    ],
)
def test_german_seed_sentence_boundaries(sentence):
    assert sentence in seed_sentences("001")


def test_german_seed_year_range_stays_inside_its_sentence():
    [sentence] = [s for s in seed_sentences("001") if "1910-1945" in s]
    assert sentence.startswith("Südkoreas Beziehung zu Tokio") and sentence.endswith("der koreanischen Halbinsel.")


def test_german_seed_quote_closing_after_comma_stays_in_sentence():
    [sentence] = [s for s in seed_sentences("001") if s.startswith("Gleichzeitig, fügte er hinzu")]
    assert "„die Reaktionsfähigkeit des südkoreanischen Militärs drastisch zu verstärken“, um Pjöngjang" in sentence


@pytest.mark.parametrize("prefix, count", [("000", 18), ("001", 17), ("002", 20), ("003", 22), ("004", 17)])
def test_seed_sentence_counts(prefix, count):
    assert len(seed_sentences(prefix)) == count


@pytest.mark.parametrize("prefix", sorted(SEED_LANGS))
def test_seed_sentences_lose_no_text(prefix):
    kept = cleaned(prefix).kept
    assert "".join("".join(seed_sentences(prefix)).split()) == "".join("".join(kept).split())


@pytest.mark.parametrize("prefix", sorted(SEED_LANGS))
def test_seed_sentences_end_a_sentence_or_a_line(prefix):
    kept = cleaned(prefix).kept
    for sentence in seed_sentences(prefix):
        assert sentence[-1] in '.!?”“")' or sentence in kept, sentence


def test_english_seed_abbreviation_us_does_not_split():
    assert (
        "The agreement enables the two U.S. allies to share military secrets, especially information about "
        "Pyongyang’s nuclear strike capabilities."
    ) in seed_sentences("003")


def test_english_seed_sentence_ending_inside_closing_quote():
    assert any(
        s.startswith("“Although several bilateral issues") and s.endswith("a security forum in Singapore.")
        for s in seed_sentences("000")
    )


# --- splitting: hand-made edge cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Er sagte: „Wir kommen.“ Sie nickte.", "de", ["Er sagte: „Wir kommen.“", "Sie nickte."]),
        ("„Gut“, meinte er. „Wirklich?“ Sie lachte.", "de", ["„Gut“, meinte er.", "„Wirklich?“", "Sie lachte."]),
        ('Er sagte: "Wir kommen." Sie nickte.', "de", ['Er sagte: "Wir kommen."', "Sie nickte."]),
        ("He said: “This is fine.” Then he left.", "en", ["He said: “This is fine.”", "Then he left."]),
        ("“Is it true?” she asked. “Yes!” he said.", "en", ["“Is it true?” she asked.", "“Yes!” he said."]),
        ("他说：“这很好。”然后他走了。", "zh", ["他说：“这很好。”", "然后他走了。"]),
        ("他问道：“为什么？”没有人回答。", "zh", ["他问道：“为什么？”", "没有人回答。"]),
    ],
)
def test_sentence_ending_inside_closing_quote_stays_one_sentence(text, lang, expected):
    assert split_sentences([text], lang) == expected


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Das gilt z. B. für Dr. Müller bzw. Nr. 5 in Seoul.", "de"),
        ("Prof. Dr. Schmidt kam im 2. Weltkrieg zum 50. Mal nach Seoul.", "de"),
        ("Mr. Smith and Dr. Jones met U.S. officials in Seoul.", "en"),
        ("The two U.S. allies met at 10 a.m. in Seoul.", "en"),
    ],
)
def test_abbreviations_do_not_end_a_sentence(text, lang):
    follower = "Danach ging er." if lang == "de" else "Then he left."
    assert split_sentences([f"{text} {follower}"], lang) == [text, follower]


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        (
            "Japans Besetzung 1910-1945 dauerte lange. Der Wert stieg um 3.5 Prozent.",
            "de",
            ["Japans Besetzung 1910-1945 dauerte lange.", "Der Wert stieg um 3.5 Prozent."],
        ),
        (
            "The occupation lasted from 1910-1945. Growth was 3.5 percent.",
            "en",
            ["The occupation lasted from 1910-1945.", "Growth was 3.5 percent."],
        ),
    ],
)
def test_year_ranges_and_decimal_numbers_do_not_split(text, lang, expected):
    assert split_sentences([text], lang) == expected


def test_chinese_splits_on_full_width_punctuation_not_on_decimal_points():
    assert split_sentences(["总额为2.5亿美元，增长3.5%。这是第一次！你知道吗？是的。"], "zh") == [
        "总额为2.5亿美元，增长3.5%。",
        "这是第一次！",
        "你知道吗？",
        "是的。",
    ]


def test_chinese_abbreviation_in_brackets_does_not_split():
    assert split_sentences(["美国(U.S.)表示同意。好的。"], "zh") == ["美国(U.S.)表示同意。", "好的。"]


def test_headline_without_final_punctuation_is_its_own_sentence():
    headline = "South Korea to restore security ties with neighbor"
    assert split_sentences([headline, "Seoul acted. Tokyo agreed."], "en") == [
        headline,
        "Seoul acted.",
        "Tokyo agreed.",
    ]


def test_sentences_never_span_two_lines():
    assert split_sentences(["The minister said that", "the talks would resume."], "en") == [
        "The minister said that",
        "the talks would resume.",
    ]


def test_whitespace_is_stripped_and_empty_lines_dropped():
    assert split_sentences(["  One.   Two.  ", "", "   ", "\tThree\t"], "en") == ["One.", "Two.", "Three"]


def test_split_unknown_language_is_a_user_error_naming_the_supported_ones():
    with pytest.raises(UserError, match=r"language 'ko' is not supported \(supported: .*de, .*en, .*zh\)"):
        split_sentences(["안녕하세요."], "ko")


@pytest.mark.parametrize(
    "path,lang", [("sources/generaltest2022.de-en.src.de", "de"), ("sources/generaltest2022.zh-en.src.zh", "zh")]
)
def test_a_long_line_is_split_in_windows_exactly_as_whole(path, lang):
    """pysbd is quadratic in the line's length; windows make it linear without changing the sentences."""
    import pysbd
    from evalharness.documents.split import WINDOW, _segment

    text = " ".join(wmt22_path(*path.split("/")).read_text(encoding="utf-8").splitlines())[:60_000]
    assert len(text) > 10 * WINDOW
    assert _segment(text, lang) == pysbd.Segmenter(language=lang, clean=False).segment(text)

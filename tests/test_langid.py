"""Language identification of hypotheses works offline and flags off-target output."""

from evalharness.langid import detect_all, off_target_rate


def test_detects_german_english_and_chinese_offline():
    assert detect_all(
        [
            "Die Regierung hat neue Maßnahmen angekündigt.",
            "The government announced new measures.",
            "政府宣布了新措施。",
        ]
    ) == ["de", "en", "zh"]


def test_segments_without_letters_are_not_judged():
    assert detect_all(["2022", "", "..."]) == [None, None, None]


def test_off_target_rate_counts_other_languages_over_all_segments():
    langs = ["en", "de", None, "en"]
    assert off_target_rate(langs, "en") == 0.25
    assert off_target_rate(["zh", "zh"], "zh-Hans") == 0.0

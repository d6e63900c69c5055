"""Language identification of hypotheses works offline and flags off-target output."""

from pathlib import Path

from evalharness import langid
from evalharness.langid import detect_all, detect_distinct, off_target_rate


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


def test_many_texts_identified_in_workers_get_the_languages_one_process_gives(monkeypatch):
    data = Path(__file__).resolve().parent.parent / "data" / "wmt22"
    texts = []
    for name in ["sources/generaltest2022.de-en.src.de", "sources/generaltest2022.zh-en.src.zh"]:
        texts += (data / name).read_text(encoding="utf-8").splitlines()[:150]
    texts += texts[:50]  # repeated texts are identified once
    monkeypatch.setattr(langid, "PARALLEL_TEXTS", 100)
    found = detect_distinct(texts, workers=2)
    assert set(found) == set(texts)
    assert found == dict(zip(texts, detect_all(texts), strict=True))
    assert {"de", "zh"} <= set(found.values())

"""Language identification of hypotheses works offline and flags off-target output."""

import json
from pathlib import Path

from evalharness import langid
from evalharness.langid import detect_all, detect_distinct, known_languages, off_target_rate, off_target_warning

from conftest import run_cli_here, wmt22_path


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


def test_segments_too_short_to_tell_count_as_unknown():
    texts = ["So disappointed", "OK, OK", "你好", "The government announced new measures today.", "政府宣布了新措施。"]
    assert [langid.detect(t) for t in texts[:2]] != ["en", "en"]  # py3langid alone guesses wrong on them
    assert known_languages(texts, detect_distinct(texts)) == [None, None, None, "en", "zh"]


def test_short_noise_no_longer_makes_a_good_system_off_target():
    hyps = ["So disappointed", "OK, OK", "The government announced new measures today."]
    assert off_target_rate(known_languages(hyps, detect_distinct(hyps)), "en") == 0.0


def test_no_warning_at_or_below_the_threshold():
    assert off_target_warning("mt", ["zh", "en"], "en", "zh") is None
    assert off_target_warning("mt", ["en"] * 9 + [None], "en", "zh") is None


def test_warning_names_the_source_language_as_the_likely_cause():
    warning = off_target_warning("mt", ["zh", "zh", "zh", "en"], "en", "zh", "dataset d: ")
    assert warning is not None and "\n" not in warning
    assert warning.startswith("warning: dataset d: mt: 75% of its segments are not in en")
    assert "source language (zh)" in warning and "swapped langpair" in warning


def test_warning_names_a_third_language_as_a_wrong_target():
    warning = off_target_warning("mt", ["de", "de", "fr", None], "en", "zh")
    assert warning is not None and "most is in de" in warning and "wrong language" in warning


def test_a_run_warns_in_one_line_and_records_it_in_the_manifest(tmp_path):
    source = wmt22_path("sources", "generaltest2022.zh-en.src.zh")
    config = tmp_path / "offtarget.yaml"
    config.write_text(
        f"""
run_name: offtarget
datasets:
  - {{name: zh-en, kind: parallel, langpair: zh-en, source: "{source}",
      references: ["{wmt22_path("references", "generaltest2022.zh-en.ref.A.en")}"], max_segments: 12}}
systems:
  - {{name: untranslated, engine: outputs, path: "{source}"}}
  - {{name: good, engine: outputs, path: "{wmt22_path("system-outputs", "generaltest2022.zh-en.hyp.Online-B.en")}"}}
  - {{name: floor, engine: identity}}
metrics: [chrf]
""",
        encoding="utf-8",
    )
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results", check=True)
    lines = [line for line in proc.stderr.splitlines() if "warning:" in line]
    assert len(lines) == 1  # the copy-source floor is in the source language by design: no warning
    assert lines[0].startswith("evalharness: warning: dataset zh-en: untranslated: ")
    assert "source language (zh)" in lines[0]
    manifest = json.loads((tmp_path / "results" / "offtarget" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warnings"] == [lines[0].removeprefix("evalharness: ")]

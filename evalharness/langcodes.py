"""ISO 639-1 language codes (as in configs: de, zh, en) -> each model family's codes and English names."""

from __future__ import annotations

from evalharness.errors import UserError

# code: (English name, NLLB-200 / FLORES-200 code, mBART-50 code)
LANGUAGES: dict[str, tuple[str, str, str | None]] = {
    "ar": ("Arabic", "arb_Arab", "ar_AR"),
    "cs": ("Czech", "ces_Latn", "cs_CZ"),
    "de": ("German", "deu_Latn", "de_DE"),
    "en": ("English", "eng_Latn", "en_XX"),
    "es": ("Spanish", "spa_Latn", "es_XX"),
    "fi": ("Finnish", "fin_Latn", "fi_FI"),
    "fr": ("French", "fra_Latn", "fr_XX"),
    "hi": ("Hindi", "hin_Deva", "hi_IN"),
    "hr": ("Croatian", "hrv_Latn", "hr_HR"),
    "it": ("Italian", "ita_Latn", "it_IT"),
    "ja": ("Japanese", "jpn_Jpan", "ja_XX"),
    "ko": ("Korean", "kor_Hang", "ko_KR"),
    "nl": ("Dutch", "nld_Latn", "nl_XX"),
    "pl": ("Polish", "pol_Latn", "pl_PL"),
    "pt": ("Portuguese", "por_Latn", "pt_XX"),
    "ru": ("Russian", "rus_Cyrl", "ru_RU"),
    "tr": ("Turkish", "tur_Latn", "tr_TR"),
    "uk": ("Ukrainian", "ukr_Cyrl", "uk_UA"),
    "zh": ("Chinese", "zho_Hans", "zh_CN"),
}


def _entry(code: str, what: str) -> tuple[str, str, str | None]:
    if code not in LANGUAGES:
        raise UserError(f"language {code!r} has no {what} code here (known: {', '.join(sorted(LANGUAGES))})")
    return LANGUAGES[code]


def name(code: str) -> str:
    """'de' -> 'German' (for prompts)."""
    return _entry(code, "English name")[0]


def nllb(code: str) -> str:
    """'de' -> 'deu_Latn' (NLLB-200)."""
    return _entry(code, "NLLB-200")[1]


def mbart50(code: str) -> str:
    """'de' -> 'de_DE' (mBART-50)."""
    value = _entry(code, "mBART-50")[2]
    if value is None:
        raise UserError(f"language {code!r} is not in mBART-50")
    return value


def m2m100(code: str) -> str:
    """M2M100 uses the ISO codes themselves."""
    _entry(code, "M2M100")
    return code

"""The compiled TER (evalharness.metrics.ter_compiled) gives sacrebleu's own TER statistics, compared with `==`.

sacrebleu's side is always its own code: `TER._extract_corpus_statistics`, the statistics step of `corpus_score`
and `sentence_score` (references through `_cache_references`, i.e. `_preprocess_segment` and then
`_extract_reference_info`, which preprocesses them again; the hypothesis through `_preprocess_segment`; then
`_compute_segment_statistics`), or `lib_ter.translation_edit_rate` on words.
"""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
from evalharness.metrics import ter_compiled as tc
from evalharness.textio import read_lines
from sacrebleu.metrics import TER, lib_ter

from conftest import ROOT, wmt22_path

pytestmark = pytest.mark.skipif(not tc.available(), reason="numba is not installed")

DE_EN_SYSTEMS = sorted(
    p.name.split(".hyp.")[1][: -len(".en")] for p in (ROOT / "data/wmt22/system-outputs").glob("*.de-en.hyp.*.en")
)
ZH_EN_SYSTEMS = sorted(
    p.name.split(".hyp.")[1][: -len(".en")] for p in (ROOT / "data/wmt22/system-outputs").glob("*.zh-en.hyp.*.en")
)
OPTIONS = [
    {},
    {"normalized": True},
    {"no_punct": True},
    {"asian_support": True},
    {"case_sensitive": True},
    {"normalized": True, "asian_support": True},
    {"no_punct": True, "asian_support": True},
    {"normalized": True, "no_punct": True, "case_sensitive": True},
    {"normalized": True, "no_punct": True, "asian_support": True, "case_sensitive": True},
]


def sacrebleu_stats(ter: TER, hyps: list[str], ref_streams: list[list[str | None]]) -> list[list[float]]:
    """sacrebleu's per-segment TER statistics, as `corpus_score` computes them before summing."""
    return ter._extract_corpus_statistics(hyps, ref_streams)


def compiled_stats(ter: TER, hyps: list[str], ref_streams: list[list[str | None]]) -> list[list[float]]:
    per_segment = zip(*ref_streams, strict=True)
    return [tc.segment_statistics(ter, hyp, list(refs)) for hyp, refs in zip(hyps, per_segment, strict=True)]


def wmt22(pair: str, system: str, n: int | None) -> tuple[list[str], list[str], list[str]]:
    """(hypotheses, reference A, reference B), the first n segments."""
    hyps = read_lines(wmt22_path("system-outputs", f"generaltest2022.{pair}.hyp.{system}.en"))
    ref_a = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.A.en"))
    ref_b = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.B.en"))
    return hyps[:n], ref_a[:n], ref_b[:n]


def assert_same(expected: list[list[float]], got: list[list[float]], what: str) -> None:
    assert len(expected) == len(got)
    differ = [i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert not differ, (
        f"{what}: {len(differ)} segments differ, first {differ[0]}: {expected[differ[0]]} != {got[differ[0]]}"
    )
    assert [list(map(type, s)) for s in got] == [list(map(type, s)) for s in expected]


# ------------------------------------------------------------------------------------------ the module


def test_constants_are_sacrebleus():
    assert (tc.COST_INS, tc.COST_DEL, tc.COST_SUB) == (lib_ter._COST_INS, lib_ter._COST_DEL, lib_ter._COST_SUB)
    assert tc.MAX_SHIFT_SIZE == lib_ter._MAX_SHIFT_SIZE
    assert tc.MAX_SHIFT_DIST == lib_ter._MAX_SHIFT_DIST
    assert tc.BEAM_WIDTH == lib_ter._BEAM_WIDTH
    assert tc.MAX_SHIFT_CANDIDATES == lib_ter._MAX_SHIFT_CANDIDATES
    assert tc.INT_INFINITY == lib_ter._INT_INFINITY


def test_imports_and_falls_back_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from sacrebleu.metrics import TER\n"
        "from evalharness.metrics import ter_compiled as tc\n"
        "assert not tc.available()\n"
        "print(tc.segment_statistics(TER(), 'b c a', ['a b c', 'a b d e']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == str(TER()._extract_corpus_statistics(["b c a"], [["a b c"], ["a b d e"]])[0])


def test_no_reference_fails_as_in_sacrebleu():
    with pytest.raises(ZeroDivisionError):
        TER()._compute_segment_statistics("a b", {"ref_words": []})
    with pytest.raises(ZeroDivisionError):
        tc.segment_statistics(TER(), "a b", [])


# ------------------------------------------------------------------------------------------ (a) WMT22


@pytest.fixture
def remembered_sacrebleu(monkeypatch):
    """sacrebleu's own `translation_edit_rate` (a pure function), computed once per (hypothesis, reference) in a
    test: with references A+B, TER still combines the two as it does, but A's results are not recomputed."""
    import sacrebleu.metrics.ter as ter_module

    import golden_stats

    remembered = golden_stats.memoised_ter(ter_module.translation_edit_rate)
    monkeypatch.setattr(ter_module, "translation_edit_rate", remembered)


# The quick tier checks three systems; `make test` all of them.
@pytest.mark.parametrize(
    "system", [s if i < 3 else pytest.param(s, marks=pytest.mark.slow) for i, s in enumerate(DE_EN_SYSTEMS)]
)
def test_wmt22_de_en_first_100_segments(system, remembered_sacrebleu):
    hyps, ref_a, ref_b = wmt22("de-en", system, 100)
    for streams, what in (([ref_a], "ref A"), ([ref_a, ref_b], "refs A+B")):
        expected = sacrebleu_stats(TER(), hyps, streams)
        assert_same(expected, compiled_stats(TER(), hyps, streams), f"{system} {what}")


def test_there_are_wmt22_systems():
    assert len(DE_EN_SYSTEMS) >= 9 and len(ZH_EN_SYSTEMS) >= 12


@pytest.mark.slow  # the compiled TER on every segment (sacrebleu's own statistics come from the golden file)
@pytest.mark.parametrize("pair, system", [("de-en", s) for s in DE_EN_SYSTEMS] + [("zh-en", s) for s in ZH_EN_SYSTEMS])
def test_wmt22_every_segment_of_all_21_systems(pair, system, sacrebleu_golden):
    """sacrebleu's own TER on every segment took about 25 CPU minutes: its statistics are stored once
    (tests/golden_stats.py, checked against sacrebleu in test_golden_stats.py)."""
    hyps, ref_a, ref_b = wmt22(pair, system, None)
    for streams, refs in (([ref_a], "A"), ([ref_a, ref_b], "A+B")):
        expected = sacrebleu_golden(pair, system, "TER", refs)
        assert_same(expected, compiled_stats(TER(), hyps, streams), f"{pair} {system} refs {refs}")


# ------------------------------------------------------------------------------------ (b) generated cases


def shuffled_spans(rng: random.Random, words: list[str], moves: int, max_span: int, max_dist: int) -> list[str]:
    """words with `moves` spans (up to max_span words) moved up to max_dist positions."""
    words = list(words)
    for _ in range(moves):
        if len(words) < 2:
            break
        length = rng.randint(1, min(max_span, len(words) - 1))
        start = rng.randrange(len(words) - length + 1)
        span = words[start : start + length]
        rest = words[:start] + words[start + length :]
        target = min(len(rest), max(0, start + rng.randint(-max_dist, max_dist)))
        words = rest[:target] + span + rest[target:]
    return words


def edited(rng: random.Random, words: list[str], vocab: list[str], n_edits: int) -> list[str]:
    """words with n_edits random substitutions, insertions and deletions."""
    words = list(words)
    for _ in range(n_edits):
        kind = rng.randrange(3)
        if kind == 0 and words:
            words[rng.randrange(len(words))] = rng.choice(vocab)
        elif kind == 1:
            words.insert(rng.randint(0, len(words)), rng.choice(vocab))
        elif words:
            del words[rng.randrange(len(words))]
    return words


def word_cases(seed: int) -> list[tuple[list[str], list[str]]]:
    """(hypothesis, reference) word lists that stress the shift search, its limits and the beam."""
    rng = random.Random(seed)
    cases: list[tuple[list[str], list[str]]] = [
        ([], []),
        (["a"], []),
        ([], ["a"]),
        (["a", "a", "b"], []),
        ([], ["a", "b", "a"]),
        (["a"], ["a"]),
        (["a", "b"], ["b", "a"]),
    ]
    for _ in range(900):  # tiny vocabularies: many equal words, many equally good shifts (ties)
        vocab = [str(v) for v in range(rng.randint(1, 4))]
        cases.append(
            (
                [rng.choice(vocab) for _ in range(rng.randint(0, 22))],
                [rng.choice(vocab) for _ in range(rng.randint(0, 22))],
            )
        )
    for _ in range(400):  # moved spans (some longer than MAX_SHIFT_SIZE) over small vocabularies, a few edits
        vocab = [f"w{v}" for v in range(rng.randint(2, 12))]
        ref = [rng.choice(vocab) for _ in range(rng.randint(1, 28))]
        hyp = shuffled_spans(rng, ref, rng.randint(1, 3), rng.choice([3, 10, 12, 15]), rng.choice([5, 20, 60]))
        cases.append((edited(rng, hyp, vocab, rng.randint(0, 3)), ref))
    for _ in range(100):  # lengths around the beam width (25) and half of it: the beam cuts the diagonal
        vocab = [f"v{v}" for v in range(rng.randint(3, 30))]
        ref = [rng.choice(vocab) for _ in range(rng.randint(20, 32))]
        hyp = shuffled_spans(rng, ref, 2, 10, 25)
        hyp = edited(rng, hyp, vocab, rng.randint(0, 12))
        cases.append((hyp, ref) if rng.random() < 0.5 else (ref, hyp))
    for _ in range(60):  # a block of extra words at one end: the best path leaves the beam around the diagonal
        vocab = [f"b{v}" for v in range(rng.randint(10, 60))]
        ref = [rng.choice(vocab) for _ in range(rng.randint(10, 50))]
        block = [rng.choice(vocab) for _ in range(rng.randint(15, 40))]
        hyp = edited(rng, block + ref if rng.random() < 0.5 else ref + block, vocab, rng.randint(0, 3))
        cases.append((hyp, ref) if rng.random() < 0.5 else (ref, hyp))
    for _ in range(40):  # distances around MAX_SHIFT_DIST (50): a span moved from one end to the other
        vocab = [f"u{v}" for v in range(rng.randint(20, 80))]
        n = rng.randint(45, 62)
        ref = [rng.choice(vocab) for _ in range(n)]
        length = rng.randint(1, 11)
        hyp = ref[length:] + ref[:length] if rng.random() < 0.5 else ref[-length:] + ref[:-length]
        cases.append((edited(rng, hyp, vocab, rng.randint(0, 4)), ref))
    for _ in range(16):  # long sentences over 2-4 words: the 1000-candidate limit ends the search mid-round
        vocab = [f"y{v}" for v in range(rng.randint(2, 4))]
        cases.append(
            (
                [rng.choice(vocab) for _ in range(rng.randint(30, 45))],
                [rng.choice(vocab) for _ in range(rng.randint(30, 45))],
            )
        )
    for _ in range(40):  # very unequal lengths: a widened beam (ratio > 50) or a very flat one
        vocab = [f"z{v}" for v in range(rng.randint(1, 6))]
        short = [rng.choice(vocab) for _ in range(rng.randint(1, 3))]
        long = [rng.choice(vocab) for _ in range(rng.randint(50, 160))]
        cases.append((short, long) if rng.random() < 0.6 else (long, short))
    return cases


CASES = word_cases(20240516)


def limit_discards_a_shift(hyp: list[str], ref: list[str]) -> bool:
    """Whether the candidate limit ends the search in a round whose best shift would have helped (the shift is
    then not made). Uses the compiled search, which the tests below compare with sacrebleu's."""
    ids: dict[str, int] = {}
    words = np.array([ids.setdefault(w, len(ids)) for w in hyp], dtype=np.int64)
    ref_ids = np.array([ids.setdefault(w, len(ids)) for w in ref], dtype=np.int64)
    checked = 0
    while True:
        delta, words, checked = tc._shift(words, ref_ids, checked)
        if checked >= tc.MAX_SHIFT_CANDIDATES:
            return delta > 0
        if delta <= 0:
            return False


def test_generated_cases_cover_the_limits():
    """The generated cases reach what they are meant to stress."""
    lengths = {(len(h), len(r)) for h, r in CASES}
    assert any(h == 0 for h, _ in lengths) and any(r == 0 for _, r in lengths)
    assert any(r / h > 2 * lib_ter._BEAM_WIDTH for h, r in lengths if h)  # the widened beam
    assert any(h > lib_ter._MAX_SHIFT_DIST + 5 for h, _ in lengths)
    assert sum(limit_discards_a_shift(h, r) for h, r in CASES if r) >= 5
    assert len(CASES) > 1400


# Each part is every fourth case, so each holds all the kinds above; the quick tier checks one, `make test` all.
@pytest.mark.parametrize("part", [0, *(pytest.param(part, marks=pytest.mark.slow) for part in (1, 2, 3))])
def test_generated_word_cases(part):
    cases = CASES[part::4]
    expected = [lib_ter.translation_edit_rate(h, r) for h, r in cases]
    got = [tc.translation_edit_rate(h, r) for h, r in cases]
    differ = [(cases[i], e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert not differ, f"{len(differ)} of {len(cases)} differ, first: {differ[0]}"


def multi_reference_cases() -> list[tuple[list[str], list[list[str]]]]:
    rng = random.Random(7)
    cases = []
    for _ in range(300):
        hyp, ref = rng.choice(CASES)
        refs = [ref] + [rng.choice(CASES)[rng.randrange(2)] for _ in range(rng.randrange(3))]
        rng.shuffle(refs)
        cases.append((hyp, refs))
    return cases


# As the word cases: every other case in the quick tier, all of them in `make test`.
@pytest.mark.parametrize("part", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_generated_multi_reference_cases(part):
    ter = TER()
    for hyp, refs in multi_reference_cases()[part::2]:
        expected = ter._compute_segment_statistics(" ".join(hyp), {"ref_words": refs})
        assert tc.statistics_from_words(hyp, refs) == expected, (hyp, refs)


# Tokens for the options: case, punctuation (incl. the cases where sacrebleu's second preprocessing of the
# references changes tokens, e.g. ",,1"), XML entities, CJK and kana, full-width punctuation, spacing.
TOKENS = [
    "the", "The", "THE", "cat", "Cat", "sat", "on", "mat", "it's", "John's", "U.S.", "1.5", "3,000", "3-4", ",,1",
    "..1", "a.", "b,", "(x)", "?", "!", "-", ":", ";", '"', "&amp;", "&quot;", "&lt;b&gt;", "一", "二三", "東京",
    "あい", "カタカナ", "、", "。", "，", "（", "）", "「x」", "\u3000", "ｘ", "Ａ",
]  # fmt: skip


def sentence(rng: random.Random, words: list[str]) -> str:
    glue = rng.choice([" ", " ", " ", "", "  "])
    return glue.join(words) + rng.choice(["", "", " ", "\t", " ."])


def option_cases(seed: int, n: int) -> list[tuple[str, list[str | None]]]:
    rng = random.Random(seed)
    cases: list[tuple[str, list[str | None]]] = [("", [""]), ("", ["a b"]), ("a b", [""]), ("", ["", "x"])]
    while len(cases) < n:
        vocab = rng.sample(TOKENS, rng.randint(3, 14))
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 16))]
        hyp = edited(rng, shuffled_spans(rng, ref, rng.randint(0, 3), 8, 15), vocab, rng.randint(0, 4))
        refs: list[str | None] = [sentence(rng, ref)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            other = shuffled_spans(rng, ref, 1, 5, 10)
            refs.append(sentence(rng, other) if rng.random() < 0.9 else None)
        cases.append((sentence(rng, hyp), refs))
    return cases


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_generated_cases_with_tokenizer_options(options):
    ter = TER(**options)
    cases = option_cases(1000 + OPTIONS.index(options), 200)
    streams = [[refs[k] if k < len(refs) else None for _, refs in cases] for k in range(3)]
    hyps = [hyp for hyp, _ in cases]
    expected = sacrebleu_stats(ter, hyps, streams)
    got = [tc.segment_statistics(ter, hyp, refs) for hyp, refs in cases]
    assert_same(expected, got, f"TER({options})")
    # the same through sentence_score's route, one segment at a time
    for (hyp, refs), stats in list(zip(cases, got, strict=True))[:40]:
        assert ter._extract_corpus_statistics([hyp], [[r] for r in refs]) == [stats]


# ------------------------------------------------------------------------------------------- in the harness


def test_the_harness_scores_ter_the_same_on_either_backend(monkeypatch):
    """evalharness.score with the compiled statistics equals it with sacrebleu's own (signature included)."""
    import evalharness
    from evalharness.metrics import sacrebleu_adapter as sb

    hyps, ref_a, ref_b = wmt22("de-en", DE_EN_SYSTEMS[0], 60)
    frames = {}
    for backend in ("sacrebleu", "numba"):
        monkeypatch.setattr(sb, "_TER_BACKEND", backend)
        result = evalharness.score(hyps, [ref_a, ref_b], metrics=["ter"], langpair="de-en", workers=1)
        frames[backend] = result.scores
        assert sb.ter_backend() == backend
    assert frames["numba"].equals(frames["sacrebleu"])


def test_the_backend_is_chosen_once_and_can_be_refused(monkeypatch):
    from evalharness.metrics import sacrebleu_adapter as sb

    monkeypatch.setattr(sb, "_TER_BACKEND", None)
    monkeypatch.setenv("EVALHARNESS_TER", "sacrebleu")
    assert sb.ter_backend() == "sacrebleu"
    monkeypatch.setenv("EVALHARNESS_TER", "numba")
    assert sb.ter_backend() == "sacrebleu"  # chosen once per process
    monkeypatch.setattr(sb, "_TER_BACKEND", None)
    assert sb.ter_backend() == ("numba" if tc.available() else "sacrebleu")

"""The compiled n-gram counting (evalharness.metrics.ngram_compiled) gives sacrebleu's own BLEU and chrF/chrF++
statistics, compared with `==`.

sacrebleu's side is always its own code: `_extract_corpus_statistics`, the statistics step of `corpus_score`.
The compiled side is what the harness runs: `sacrebleu_adapter.cache_references` and `segment_statistics` with
the backend set to "numba". Every comparison also checks that the compiled path really ran (the references became
`ReferenceTable`s), so that a silent fallback to sacrebleu's code cannot pass for the compiled one.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from evalharness.metrics import ngram_compiled as nc
from evalharness.metrics import sacrebleu_adapter as sb
from evalharness.textio import read_lines
from sacrebleu.metrics import BLEU, CHRF

from conftest import ROOT, wmt22_path

pytestmark = pytest.mark.skipif(not nc.available(), reason="numba is not installed")

SYSTEMS = [
    (pair, p.name.split(".hyp.")[1][: -len(".en")])
    for pair in ("de-en", "zh-en")
    for p in sorted((ROOT / "data/wmt22/system-outputs").glob(f"*.{pair}.hyp.*.en"))
]
METRICS = {"BLEU": BLEU, "chrF": CHRF, "chrF++": lambda: CHRF(word_order=2)}
BLEU_OPTIONS = [
    {},
    {"lowercase": True},
    {"tokenize": "none"},
    {"tokenize": "char"},
    {"tokenize": "intl"},
    {"tokenize": "zh"},
    {"max_ngram_order": 2},
    {"max_ngram_order": 6, "lowercase": True},
]
CHRF_OPTIONS = [
    {},
    {"word_order": 2},
    {"lowercase": True},
    {"whitespace": True},
    {"whitespace": True, "word_order": 2, "lowercase": True},
    {"char_order": 3, "word_order": 1},
    {"beta": 1, "word_order": 2},
    {"eps_smoothing": True, "word_order": 2},
]


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.setattr(sb, "_NGRAM_BACKEND", "numba")


def compiled_stats(scorer, hyps: list[str], ref_streams: list[list[str | None]], tables: int | None = None) -> list:
    """The harness's statistics; `tables`: how many segments must have gone through the compiled path (all
    when None)."""
    ref_infos = sb.cache_references(scorer, ref_streams)
    ran = sum(isinstance(info, nc.ReferenceTable) for info in ref_infos)
    assert ran == (len(ref_infos) if tables is None else tables)
    return [sb.segment_statistics(scorer, hyp, info) for hyp, info in zip(hyps, ref_infos, strict=True)]


def assert_same(expected: list[list[int]], got: list[list[int]], what: str) -> None:
    assert len(expected) == len(got)
    differ = [i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert not differ, (
        f"{what}: {len(differ)} segments differ, first {differ[0]}: {expected[differ[0]]} != {got[differ[0]]}"
    )
    assert [list(map(type, s)) for s in got] == [list(map(type, s)) for s in expected]


def wmt22(pair: str, system: str, n: int | None) -> tuple[list[str], list[str], list[str]]:
    """(hypotheses, reference A, reference B), the first n segments."""
    hyps = read_lines(wmt22_path("system-outputs", f"generaltest2022.{pair}.hyp.{system}.en"))
    ref_a = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.A.en"))
    ref_b = read_lines(wmt22_path("references", f"generaltest2022.{pair}.ref.B.en"))
    return hyps[:n], ref_a[:n], ref_b[:n]


def check_wmt22(pair: str, system: str, n: int | None, sacrebleu_golden=None) -> None:
    """The compiled statistics of the first n segments against sacrebleu's: computed here, or (every segment)
    read from the golden file of sacrebleu's own statistics (`sacrebleu_golden`)."""
    hyps, ref_a, ref_b = wmt22(pair, system, n)
    for name, make in METRICS.items():
        for streams, refs in (([ref_a], "A"), ([ref_a, ref_b], "A+B")):
            if sacrebleu_golden is None:
                expected = make()._extract_corpus_statistics(hyps, streams)
            else:
                expected = sacrebleu_golden(pair, system, name, refs)
            assert_same(expected, compiled_stats(make(), hyps, streams), f"{pair} {system} {name} refs {refs}")


# ------------------------------------------------------------------------------------------ (a) WMT22


def test_there_are_21_wmt22_systems():
    assert len(SYSTEMS) == 21


@pytest.mark.parametrize("pair, system", SYSTEMS[:2] + SYSTEMS[-2:], ids=lambda x: x)
def test_wmt22_first_80_segments(pair, system, compiled):
    """Two systems of each pair in the quick tier; every segment of all 21 in the full suite (below)."""
    check_wmt22(pair, system, 80)


@pytest.mark.slow  # the compiled counting on every segment (sacrebleu's statistics come from the golden file)
@pytest.mark.parametrize("pair, system", SYSTEMS, ids=lambda x: x)
def test_wmt22_every_segment_of_all_21_systems(pair, system, compiled, sacrebleu_golden):
    check_wmt22(pair, system, None, sacrebleu_golden)


# ------------------------------------------------------------------------------------ (b) generated cases

WORDS = [
    "a", "the", "The", "cat", "Katze", "(hi)", "end.", ",", ".", "!", "?", "'s", "don't", "U.S.", "co-op", "ä",
    "Straße", "中文", "北京", "😀", "x", "xx", "xxx", "-", "--", "(", ")", "\"quoted\"", "1,000", "3.5", "A.",
]  # fmt: skip


def sentence(rng: random.Random, words: list[str]) -> str:
    glue = rng.choice([" ", " ", " ", "  ", "\t"])
    return rng.choice(["", "", " "]) + glue.join(words) + rng.choice(["", "", " ", " ."])


def cases(seed: int, n: int) -> list[tuple[str, list[str | None]]]:
    """Hypotheses and 1-3 references (some None: a variable number of references) from a small vocabulary, so
    that n-grams repeat and match; some references equal, so that chrF's choice of reference ties."""
    rng = random.Random(seed)
    out: list[tuple[str, list[str | None]]] = [("", [""]), ("", ["a b"]), ("a b", [""]), ("a a a", ["a a"])]
    while len(out) < n:
        vocab = rng.sample(WORDS, rng.randint(2, 12))
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 18))]
        hyp = [w if rng.random() < 0.7 else rng.choice(WORDS) for w in ref]
        rng.shuffle(hyp) if rng.random() < 0.3 else None
        refs: list[str | None] = [sentence(rng, ref)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            roll = rng.random()
            other = [w for w in ref if rng.random() < 0.8] + [rng.choice(WORDS)]
            refs.append(refs[0] if roll < 0.2 else None if roll < 0.3 else sentence(rng, other))
        out.append((sentence(rng, hyp), refs))
    return out


def streams_of(generated: list[tuple[str, list[str | None]]]) -> list[list[str | None]]:
    return [[refs[k] if k < len(refs) else None for _, refs in generated] for k in range(3)]


@pytest.mark.parametrize("options", BLEU_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_generated_cases_bleu(options, compiled):
    generated = cases(100 + BLEU_OPTIONS.index(options), 200)
    hyps, streams = [hyp for hyp, _ in generated], streams_of(generated)
    expected = BLEU(**options)._extract_corpus_statistics(hyps, streams)
    assert_same(expected, compiled_stats(BLEU(**options), hyps, streams), f"BLEU({options})")


@pytest.mark.parametrize("options", CHRF_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_generated_cases_chrf(options, compiled):
    generated = cases(200 + CHRF_OPTIONS.index(options), 200)
    hyps, streams = [hyp for hyp, _ in generated], streams_of(generated)
    expected = CHRF(**options)._extract_corpus_statistics(hyps, streams)
    assert_same(expected, compiled_stats(CHRF(**options), hyps, streams), f"CHRF({options})")


def test_the_generated_cases_have_ties_between_references():
    """chrF keeps the first of equally good references: the cases must contain such ties to test that."""
    chrf = CHRF(word_order=2)
    ties = 0
    for hyp, refs in cases(200 + CHRF_OPTIONS.index({"word_order": 2}), 200):
        lines = [r for r in refs if r is not None]
        scores = [chrf._compute_f_score(chrf._extract_corpus_statistics([hyp], [[r]])[0]) for r in lines]
        ties += len(scores) != len(set(scores))
    assert ties >= 10


# --------------------------------------------------------------------------- (c) what does not fit: sacrebleu


def test_a_segment_with_too_many_distinct_characters_is_left_to_sacrebleu(compiled):
    """1500 distinct characters do not fit chrF's 6-grams in 64 bits: that segment runs sacrebleu's own code,
    the next one the compiled path, and the numbers are sacrebleu's either way."""
    many = "".join(chr(0x4E00 + i) for i in range(1500))
    hyps, refs = [many[::-1][:800] + many[:50], "a b c"], [[many, "a b c d"]]
    expected = CHRF()._extract_corpus_statistics(hyps, refs)
    assert_same(expected, compiled_stats(CHRF(), hyps, refs, tables=1), "chrF, 1500 characters")


def test_a_segment_with_too_many_distinct_tokens_is_left_to_sacrebleu(compiled):
    many = " ".join(f"w{i}" for i in range(56000))
    hyps, refs = [" ".join(f"w{i}" for i in range(0, 56000, 3)), "a b c"], [[many, "a b c d"]]
    expected = BLEU()._extract_corpus_statistics(hyps, refs)
    assert_same(expected, compiled_stats(BLEU(), hyps, refs, tables=1), "BLEU, 56000 tokens")


def test_a_segment_without_references_is_left_to_sacrebleu(compiled):
    hyps, refs = ["a b", "a b"], [["a b", None]]
    expected = CHRF()._extract_corpus_statistics(hyps, refs)
    assert_same(expected, compiled_stats(CHRF(), hyps, refs, tables=1), "chrF, no reference")


# ------------------------------------------------------------------------------------------- in the harness


def test_imports_and_falls_back_without_numba():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from sacrebleu.metrics import CHRF\n"
        "from evalharness.metrics import ngram_compiled as nc, sacrebleu_adapter as sb\n"
        "assert not nc.available() and sb.ngram_backend() == 'sacrebleu'\n"
        "chrf = CHRF(word_order=2)\n"
        "print(sb.segment_statistics(chrf, 'b c a', sb.cache_references(chrf, [['a b c'], ['a b d e']])[0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    expected = CHRF(word_order=2)._extract_corpus_statistics(["b c a"], [["a b c"], ["a b d e"]])[0]
    assert out.stdout.strip() == str(expected)


def test_the_harness_scores_the_same_on_either_backend(monkeypatch):
    """evalharness.score with the compiled counting equals it with sacrebleu's own (signatures, CIs included)."""
    import evalharness
    from evalharness.metrics import scoring

    hyps, ref_a, ref_b = wmt22("zh-en", SYSTEMS[-1][1], 80)
    monkeypatch.setattr(scoring, "COMPILED_NGRAMS_MIN", 0)  # 80 segments are below it: sacrebleu's code would run
    frames = {}
    for backend in ("sacrebleu", "numba"):
        monkeypatch.setattr(sb, "_NGRAM_BACKEND", backend)
        metrics = ["bleu", "chrf", {"name": "chrf", "word_order": 2}]
        frames[backend] = evalharness.score(hyps, [ref_a, ref_b], metrics=metrics, langpair="zh-en", workers=1).scores
        assert sb.ngram_backend() == backend
    assert frames["numba"].equals(frames["sacrebleu"])


def test_the_backend_is_chosen_once_and_can_be_refused(monkeypatch):
    monkeypatch.setattr(sb, "_NGRAM_BACKEND", None)
    monkeypatch.setenv("EVALHARNESS_NGRAMS", "sacrebleu")
    assert sb.ngram_backend() == "sacrebleu"
    monkeypatch.setenv("EVALHARNESS_NGRAMS", "numba")
    assert sb.ngram_backend() == "sacrebleu"  # chosen once per process
    monkeypatch.setattr(sb, "_NGRAM_BACKEND", None)
    assert sb.ngram_backend() == "numba"


def test_small_work_is_counted_by_sacrebleus_own_code(monkeypatch):
    """Loading numba costs more than it saves on a few hundred segments: below COMPILED_NGRAMS_MIN hypotheses the
    harness never builds a ReferenceTable."""
    from evalharness.metrics import BleuConfig, BleuMetric, scoring

    built = []
    original = nc.bleu_references
    monkeypatch.setattr(nc, "bleu_references", lambda *args: built.append(1) or original(*args))
    monkeypatch.setattr(sb, "_NGRAM_BACKEND", "numba")
    hyps, ref_a, _ = wmt22("de-en", SYSTEMS[0][1], 100)
    metric = BleuMetric(BleuConfig(name="bleu"))
    small = scoring.segment_statistics([metric], "en", [ref_a], {"s": hyps}, workers=1)
    assert not built
    monkeypatch.setattr(scoring, "COMPILED_NGRAMS_MIN", 100)
    assert scoring.segment_statistics([metric], "en", [ref_a], {"s": hyps}, workers=1) == small
    assert len(built) == 100

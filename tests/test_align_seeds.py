"""The aligner on the user's seed pair: 001 (German translation, source) against 000 (English original, reference).

Both documents go through the real pipeline (clean, then split into sentences) before they are aligned. The gold
links below were established by reading the two documents sentence by sentence:
  - 001 opens with a headline that translates a different English headline ("Seoul plans to 'normalise'
    cooperation with Japan to help address threats from North Korea") than 000's ("South Korea to restore security
    ties with neighbor"): neither headline has a counterpart, a 1-0 and a 0-1 link;
  - 001's first body sentence runs 000's first two sentences together (the translation dropped the start of the
    second, "Although several bilateral issues remain unsolved ... we intend to have", keeping only
    "beabsichtigen, dass beide Seiten ..."): a 1-2 link;
  - every other German sentence translates exactly one English sentence, in order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evalharness.documents.align import align
from evalharness.documents.clean import clean
from evalharness.documents.split import split_sentences

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

LinkKey = tuple[tuple[int, ...], tuple[int, ...]]

# (German sentence ids, English sentence ids), in document order.
GOLD: list[LinkKey] = [
    ((), (0,)),  # EN "South Korea to restore security ties with neighbor" (000's headline, not translated)
    ((0,), ()),  # DE "Seoul plant, die Zusammenarbeit mit Japan zu „normalisieren“ ..." (another headline)
    ((1,), (1, 2)),  # DE "Südkorea versucht, die Zäune mit Japan zu reparieren ... in Singapur."
    #                  = EN "South Korea is looking to mend fences ..." + "“Although several bilateral issues ..."
    ((2,), (3,)),  # DE "Der Versuch der Regierung des neu gewählten Präsidenten Yoon" = EN "The outreach for ..."
    ((3,), (4,)),  # DE "Gleichzeitig, fügte er hinzu, ziele Yoon" = EN "At the same time, he added, Yoon aims"
    ((4,), (5,)),  # DE "Lee und seine japanischen und amerikanischen Amtskollegen" = EN "Lee and his Japanese"
    ((5,), (6,)),  # DE "Die Gespräche waren das erste persönliche Treffen" = EN "The talks marked the first"
    ((6,), (7,)),  # DE "Seoul kündigte im August 2019" = EN "Seoul scrapped an intelligence-sharing agreement"
    ((7,), (8,)),  # DE "Im Rahmen des Pakts hatten Südkorea und Japan" = EN "Under the pact, South Korea"
    ((8,), (9,)),  # DE "Südkoreas Beziehung zu Tokio verschlechterte sich 2018" = EN "South Korea’s relationship"
    ((9,), (10,)),  # DE "Japan reagierte mit neuen Beschränkungen" = EN "Japan responded by placing new"
    ((10,), (11,)),  # DE "Die Beziehungen zwischen den beiden Ländern" = EN "The two countries have long had"
    ((11,), (12,)),  # DE "Aber da Yoon versucht, die Halbinsel" = EN "But with Yoon seeking to denuclearize"
    ((12,), (13,)),  # DE "Nordkorea hat in diesem Jahr mindestens 18" = EN "North Korea has conducted at least 18"
    ((13,), (14,)),  # DE "Nordkorea könnte seinen ersten Atombombentest" = EN "North Korea may conduct its first"
    ((14,), (15,)),  # DE "Washington hat eine „schnelle und energische" = EN "Washington has vowed a “swift"
    ((15,), (16,)),  # DE "Die beiden Koreas befinden sich technisch" = EN "The two Koreas remain technically"
    ((16,), (17,)),  # DE "Der Koreakrieg forderte fast 5 Millionen Tote." = EN "The Korean War left nearly 5"
]


def seed_sentences(prefix: str, lang: str) -> list[str]:
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.fail(f"test data missing: {SEEDS}/{prefix}_*.txt")
    return split_sentences(clean(matches[0].read_text(encoding="utf-8"), lang).kept, lang)


@pytest.fixture(scope="module")
def seed_pair() -> tuple[list[str], list[str]]:
    return seed_sentences("001", "de"), seed_sentences("000", "en")


@pytest.fixture(scope="module")
def seed_links(seed_pair) -> list[LinkKey]:
    german, english = seed_pair
    return [(link.source_ids, link.reference_ids) for link in align(german, english)]


def test_gold_matches_the_split_documents(seed_pair):
    # Guards the gold against a change in cleaning or splitting: the sentences it was written for.
    german, english = seed_pair
    assert (len(german), len(english)) == (17, 18)
    assert german[0].startswith("Seoul plant, die Zusammenarbeit mit Japan")
    assert english[0] == "South Korea to restore security ties with neighbor"
    assert german[1].endswith("auf einem Sicherheitsforum in Singapur.")
    assert english[2].startswith("“Although several bilateral issues")
    assert german[16] == "Der Koreakrieg forderte fast 5 Millionen Tote."
    assert [i for s, _ in GOLD for i in s] == list(range(len(german)))
    assert [j for _, r in GOLD for j in r] == list(range(len(english)))


def test_seed_alignment_is_the_gold_alignment(seed_links):
    # The two leading null links could come in either order (both orders mean the same alignment), so the
    # comparison is of the link sets; every sentence is in exactly one link, so equal sets are equal alignments.
    assert len(seed_links) == len(GOLD)
    assert set(seed_links) == set(GOLD), (
        f"missing {sorted(set(GOLD) - set(seed_links))}; unexpected {sorted(set(seed_links) - set(GOLD))}"
    )


def test_only_the_german_headline_is_left_unlinked(seed_pair, seed_links):
    german, _ = seed_pair
    unlinked = [s[0] for s, r in seed_links if s and not r]
    assert unlinked == [0]
    linked = sorted(i for s, r in seed_links if r for i in s)
    assert linked == list(range(1, len(german)))

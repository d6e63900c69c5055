"""The sentence aligner (Gale & Church with anchors): link shapes, anchors, coverage, and a WMT22 document."""

from __future__ import annotations

import random

import pytest
from evalharness.documents.align import AlignConfig, Link, align
from pydantic import ValidationError

from conftest import wmt22_path

# A short German news article and its English translation, sentence by sentence.
GERMAN = [
    "Die Stadt hat am Montag einen neuen Bahnhof eröffnet.",
    "Der Bau dauerte länger als geplant, weil der Boden unter dem alten Gleisbett instabil war und zuerst "
    "aufwendig befestigt werden musste.",
    "Viele Pendler freuen sich.",
    "Die Züge fahren jetzt alle zehn Minuten in die Innenstadt, auch am Wochenende und an Feiertagen.",
    "Kritiker bemängeln die hohen Kosten.",
    "Der Bürgermeister verteidigte das Projekt in einer langen Rede vor dem Stadtrat und versprach weitere "
    "Investitionen in den öffentlichen Nahverkehr.",
    "Auch die Opposition zeigte sich zufrieden.",
    "Für das kommende Jahr ist eine zweite Linie geplant, die den Bahnhof mit dem Flughafen verbinden soll.",
    "Wann sie fertig wird, ist offen.",
    "Die Anwohner hoffen vor allem auf weniger Verkehr in ihren Straßen.",
]
ENGLISH = [
    "The city opened a new railway station on Monday.",
    "Construction took longer than planned because the ground under the old track bed was unstable and first "
    "had to be reinforced at great effort.",
    "Many commuters are pleased.",
    "Trains now run to the city centre every ten minutes, including at weekends and on holidays.",
    "Critics complain about the high costs.",
    "The mayor defended the project in a long speech to the city council and promised further investment in "
    "public transport.",
    "The opposition was also satisfied.",
    "A second line is planned for next year, which is to connect the station with the airport.",
    "When it will be finished is open.",
    "Above all, residents hope for less traffic in their streets.",
]


def pairs(links: list[Link]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(link.source_ids, link.reference_ids) for link in links]


def one_to_one(n: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [((i,), (i,)) for i in range(n)]


def test_identical_lengths_give_all_one_to_one():
    lengths = [40, 85, 23, 120, 60, 31, 77]
    src = ["x" * n for n in lengths]
    ref = ["y" * n for n in lengths]
    assert pairs(align(src, ref)) == one_to_one(len(lengths))


def test_dropped_source_sentence_gives_0_1_link_in_place():
    src = GERMAN[:3] + GERMAN[4:]  # the German lacks "Die Züge fahren jetzt ..."
    links = pairs(align(src, ENGLISH))
    assert links == one_to_one(3) + [((), (3,))] + [((i - 1,), (i,)) for i in range(4, 10)]


@pytest.mark.parametrize("merged_side", ["source", "reference"])
def test_merged_sentence_gives_1_2_or_2_1_link(merged_side):
    def merge(sentences):
        return sentences[:5] + [f"{sentences[5]} {sentences[6]}"] + sentences[7:]

    if merged_side == "source":
        links = pairs(align(merge(GERMAN), ENGLISH))
        expected = one_to_one(5) + [((5,), (5, 6))] + [((i - 1,), (i,)) for i in range(7, 10)]
    else:
        links = pairs(align(GERMAN, merge(ENGLISH)))
        expected = one_to_one(5) + [((5, 6), (5,))] + [((i,), (i - 1,)) for i in range(7, 10)]
    assert links == expected


def test_numbers_anchor_where_length_alone_misaligns():
    # Two English sentences about sales, of which the German has only the second; by length the German is
    # closer to the first, so length alone links the wrong one and drops the right one. The numbers decide.
    numbers_de = "Im Jahr 2019 verkaufte die Firma nach eigenen Angaben 7.250 Autos, davon die Hälfte im Ausland."
    first_en = "In 2017 the company sold far more cars than ever before, most of them in its home market."
    second_en = (
        "According to its own figures, the firm sold 7,250 cars in 2019, and half of these cars went to buyers abroad."
    )
    src = GERMAN[:5] + [numbers_de] + GERMAN[5:]
    ref = ENGLISH[:5] + [first_en, second_en] + ENGLISH[5:]
    expected = one_to_one(5) + [((), (5,)), ((5,), (6,))] + [((i,), (i + 1,)) for i in range(6, 11)]
    by_length = pairs(align(src, ref, AlignConfig(anchor_weight=0)))
    assert by_length[5:7] == [((5,), (5,)), ((), (6,))]
    assert pairs(align(src, ref)) == expected


def test_links_are_monotone_and_cover_every_sentence_once():
    rng = random.Random(7)
    for n, m in [(7, 11), (11, 7), (1, 5), (9, 9)]:
        src = [" ".join("w" * rng.randint(2, 9) for _ in range(rng.randint(2, 20))) for _ in range(n)]
        ref = [" ".join("v" * rng.randint(2, 9) for _ in range(rng.randint(2, 20))) for _ in range(m)]
        links = align(src, ref)
        assert [i for link in links for i in link.source_ids] == list(range(n))
        assert [j for link in links for j in link.reference_ids] == list(range(m))
        assert all(link.source_ids or link.reference_ids for link in links)
        assert all(len(link.source_ids) <= 2 and len(link.reference_ids) <= 2 for link in links)


def test_empty_side_gives_only_null_links():
    assert pairs(align([], ENGLISH[:3])) == [((), (0,)), ((), (1,)), ((), (2,))]
    assert pairs(align(GERMAN[:2], [])) == [((0,), ()), ((1,), ())]
    assert align([], []) == []


def test_config_is_strict():
    with pytest.raises(ValidationError):
        AlignConfig(max_merge=3)
    with pytest.raises(ValidationError):
        AlignConfig(anchor_wieght=1.0)


def test_wmt22_pseudo_document_with_known_perturbations():
    src_lines = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()
    ref_lines = wmt22_path("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    src, ref = src_lines[300:330], ref_lines[300:330]
    # Drop German line 4 and English line 11; merge German 17+18 and English 24+25.
    new_src = src[:4] + src[5:17] + [f"{src[17]} {src[18]}"] + src[19:]
    new_ref = ref[:11] + ref[12:24] + [f"{ref[24]} {ref[25]}"] + ref[26:]
    gold = set()
    s = r = 0
    for line in range(30):
        if line == 4:
            gold.add(((), (r,)))
            r += 1
        elif line == 11:
            gold.add(((s,), ()))
            s += 1
        elif line == 17:
            gold.add(((s,), (r, r + 1)))
            s, r = s + 1, r + 2
        elif line == 24:
            gold.add(((s, s + 1), (r,)))
            s, r = s + 2, r + 1
        elif line not in (18, 25):
            gold.add(((s,), (r,)))
            s, r = s + 1, r + 1
    assert (s, r) == (len(new_src), len(new_ref))
    found = set(pairs(align(new_src, new_ref)))
    recall = len(found & gold) / len(gold)
    assert recall >= 0.9, f"link recall {recall:.2f}; missed {sorted(gold - found)}"


# Headlines: a first sentence without final punctuation. The German headline below translates a different
# English headline than the one the English document has.
HEADLINE_DE = "Stadt eröffnet nach jahrelangem Streit endlich den neuen Bahnhof am Stadtrand"
OTHER_HEADLINE_EN = "Commuters cheer"
SAME_HEADLINE_EN = "City finally opens the new station on the outskirts after years of dispute"


def test_untranslated_headlines_are_left_unlinked_not_merged():
    links = pairs(align([HEADLINE_DE] + GERMAN, [OTHER_HEADLINE_EN] + ENGLISH))
    assert set(links[:2]) == {((0,), ()), ((), (0,))}
    assert links[2:] == [((i + 1,), (i + 1,)) for i in range(10)]


def test_translated_headline_is_linked_to_the_other_headline():
    links = pairs(align([HEADLINE_DE] + GERMAN, [SAME_HEADLINE_EN] + ENGLISH))
    assert links == one_to_one(11)


def test_headline_with_no_headline_opposite_is_a_1_0_link():
    links = pairs(align([HEADLINE_DE] + GERMAN, ENGLISH))
    assert links == [((0,), ())] + [((i + 1,), (i,)) for i in range(10)]


def test_sentence_with_final_punctuation_is_not_a_headline():
    # The same first sentences with a full stop are body sentences, aligned as with the headline handling off:
    # the ordinary 1-0/0-1 prior, merges allowed (here the two first sentences end up in a 1-2 and a 2-1 link).
    src = [HEADLINE_DE + "."] + GERMAN
    ref = [OTHER_HEADLINE_EN + "."] + ENGLISH
    assert pairs(align(src, ref)) != pairs(align([HEADLINE_DE] + GERMAN, [OTHER_HEADLINE_EN] + ENGLISH))
    off = AlignConfig(headline_prior=None)
    assert pairs(align(src, ref)) == pairs(align([HEADLINE_DE] + GERMAN, [OTHER_HEADLINE_EN] + ENGLISH, off))


def wmt22_document(start: int, lines: int, drop_every: int) -> tuple[list[str], list[str]]:
    """WMT22 de-en lines as a document pair, every `drop_every`-th English line left out (a 1-0 link each)."""
    src = wmt22_path("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()
    ref = wmt22_path("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    kept = [k for k in range(start, start + lines) if (k - start) % drop_every != drop_every - 1]
    return src[start : start + lines], [ref[k] for k in kept]


def test_a_long_document_is_searched_in_a_band_with_the_same_result_as_the_full_search(monkeypatch):
    """Above FULL_SEARCH_CELLS the search keeps to a band around the diagonal (how a 400 KB article aligns in
    seconds, bench/long_document.py); on 260 x 247 WMT22 sentences it finds what searching every cell finds."""
    import evalharness.documents.align as aligner

    src, ref = wmt22_document(900, 260, 20)  # the stretch where sentence counts drift furthest from the diagonal
    visited: list[int] = []
    search_band = aligner._search_band

    def counting(n, m, shapes, cost, band):
        visited.append(sum(hi - lo + 1 for lo, hi in band))
        return search_band(n, m, shapes, cost, band)

    monkeypatch.setattr(aligner, "_search_band", counting)
    monkeypatch.setattr(aligner, "BAND_CHARACTERS", 300)  # narrow enough that the band must widen here
    banded = align(src, ref)
    assert len(visited) > 2 and visited[0] < visited[1]  # widened at least once, in each pass
    assert max(visited) < (len(src) + 1) * (len(ref) + 1)  # and never had to search every cell
    monkeypatch.setattr(aligner, "FULL_SEARCH_CELLS", 10**9)
    assert align(src, ref) == banded
    assert sum(1 for link in banded if not link.reference_ids) >= 12  # the dropped English lines are found


def test_a_short_document_searches_every_cell(monkeypatch):
    import evalharness.documents.align as aligner

    calls: list[list[tuple[int, int]]] = []
    search_band = aligner._search_band
    monkeypatch.setattr(
        aligner, "_search_band", lambda n, m, s, c, band: calls.append(band) or search_band(n, m, s, c, band)
    )
    src, ref = wmt22_document(0, 100, 10)
    align(src, ref)
    assert calls and all(band == [(0, len(ref))] * (len(src) + 1) for band in calls)

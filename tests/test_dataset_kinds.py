"""Dataset kinds are strategies: each owns how its cells are produced, the levels it is scored at and its own
columns, and the run iterates over them without asking which kind it has. The runner keeps the sequence of
phases only."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import sacrebleu
from evalharness.datasets.base import Dataset, DatasetKind, LevelInput, RoundTrip
from evalharness.executors.base import CellOutput
from evalharness.metrics import make_metric
from evalharness.metrics.bleu import BleuConfig
from evalharness.plan import Cell, Plan
from evalharness.progress import Progress
from evalharness.runner import Scorer, evaluate
from evalharness.statistics.compare import StatisticsConfig
from evalharness.systems.context import CellStats
from evalharness.systems.identity import IdentityConfig, IdentitySystem

RUNNER = Path(__file__).resolve().parents[1] / "evalharness" / "runner.py"
SOURCES = ["Der Hund bellt laut.", "Die Katze schläft.", "Es regnet heute.", "Wir gehen nach Hause."]
REFERENCES = ["The dog barks loudly.", "The cat is sleeping.", "It is raining today.", "We are going home."]
HYPOTHESES = ["The dog barks loud.", "The cat sleeps.", "It rains today.", "We go home."]


class RecordingTranslator:
    """A `Translator` that tags each text with the direction it was asked for, and remembers the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def hypotheses(self, dataset: Dataset, ctx=None, stats=None) -> list[str]:
        raise AssertionError("a round trip translates; it never asks for fixed hypotheses")

    def translate(self, texts: list[str], src_lang: str, tgt_lang: str, ctx=None, stats=None) -> list[str]:
        self.calls.append((src_lang, tgt_lang, len(texts)))
        return [f"{tgt_lang}:{text}" for text in texts]


def test_a_round_trip_translates_into_the_pivot_and_back_through_the_translator():
    dataset = Dataset("rt", "en", "en", REFERENCES, [REFERENCES], ["ref"], kind=RoundTrip(pivot_lang="zh"))
    translator = RecordingTranslator()
    units, pivots = dataset.produce(translator, None, None)
    assert translator.calls == [("en", "zh", 4), ("zh", "en", 4)]
    assert pivots == [f"zh:{text}" for text in REFERENCES]
    assert units == [f"en:zh:{text}" for text in REFERENCES]
    assert dataset.first_leg() == (REFERENCES, "en", "zh")  # what an executor may send ahead: the way there


@dataclass(frozen=True)
class FirstHalf(DatasetKind):
    """A kind of a test's own: plain segments, and also the first half of them as a level of each cell."""

    def cell_levels(self, dataset, segment_hypotheses, pivots, pivot_langs) -> list[LevelInput]:
        half = len(segment_hypotheses) // 2
        return [
            LevelInput(
                "first half",
                [stream[:half] for stream in dataset.references],
                segment_hypotheses[:half],
                f"{dataset.name} first half",
            )
        ]


def test_a_kind_of_its_own_is_scored_at_its_own_level_without_a_change_to_the_runner():
    dataset = Dataset("d", "de", "en", SOURCES, [REFERENCES], ["ref"], kind=FirstHalf())
    system = IdentitySystem(IdentityConfig(name="mt", engine="identity"))
    plan = Plan({"d": dataset}, [Cell("d", system)], [make_metric(BleuConfig(name="bleu"))], [])
    outputs = [CellOutput(list(HYPOTHESES), None, CellStats())]
    scorer = Scorer(plan.metrics, 1, use_cache=False)
    found = evaluate(plan, outputs, scorer, StatisticsConfig(bootstrap=0), Progress.silent())
    scores = {row.level: (row.score, row.n_segments) for row in found.rows}
    assert scores == {
        "segment": (sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score, 4),
        "first half": (sacrebleu.corpus_bleu(HYPOTHESES[:2], [REFERENCES[:2]]).score, 2),
    }


def test_the_runner_keeps_the_sequence_of_phases_only():
    text = RUNNER.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 350
    tree = ast.parse(text)
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 50
    }
    assert long == {}
    # the statistics config arrives typed: nothing in the runner reads a setting it might not have
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "getattr"]

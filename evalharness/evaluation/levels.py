"""Every cell of a dataset scored at every level its dataset's kind has: the levels shared by all cells (segments,
the whole document) in one scoring call each, then a cell's own levels (a round trip's). Languages of the outputs
are identified here once, and each cell's columns of scores.csv computed once (a round trip's validity included)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalharness.cache import CACHES
from evalharness.datasets.base import Dataset
from evalharness.executors.base import CellOutput
from evalharness.langid import detect_distinct, known_languages, off_target_rate
from evalharness.metrics.scoring import MetricResult, score_systems
from evalharness.plan import Cell, CellId, Plan
from evalharness.progress import Progress


class Scorer:
    """Scores hypotheses with the run's metrics through the score cache, counting hits for the manifest."""

    def __init__(self, metrics: list, workers: int, use_cache: bool, progress: Progress | None = None):
        self.metrics, self.workers = metrics, workers
        self.store = CACHES["scores"].open() if use_cache else None
        self.hits = self.misses = 0
        self.progress = progress or Progress.silent()

    def __call__(
        self,
        target_lang: str,
        references: list[list[str]],
        hyps: dict[CellId, list[str]],
        sentence: bool,
        desc: str = "",
        sources: list[str] | None = None,
        source_lang: str | None = None,
        metrics: list | None = None,
    ) -> dict[tuple[CellId, str], MetricResult]:
        results = score_systems(
            self.metrics if metrics is None else metrics,
            target_lang,
            references,
            hyps,
            workers=self.workers,
            sentence=sentence,
            cache=self.store,
            progress=self.progress,
            desc=desc,
            sources=sources,
            source_lang=source_lang,
        )
        self.hits += sum(r.cached for r in results.values())
        self.misses += sum(not r.cached for r in results.values())
        return results

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@dataclass
class Level:
    """One way of scoring a dataset's cells: its references, each cell's hypotheses, the scores by
    (cell id, metric label)."""

    name: str  # segment, document, "segment, pivot on target", or pivot
    references: list[list[str]]
    hyps: dict[CellId, list[str]]
    results: dict[tuple[CellId, str], MetricResult] | None  # None: nothing to score
    langpair: str | None = None  # where it is not the dataset's (a round trip's pivots: source-pivot)


@dataclass
class ScoredCell:
    """One cell, its outputs, the languages identified in them, its scores at every level, and its columns."""

    cell: Cell
    output: CellOutput
    unit_langs: list[str | None]  # per source unit translated
    pivot_langs: list[str | None] | None  # per pivot (round trips)
    levels: list[Level]  # the dataset's shared levels (segment first), then its own
    columns: dict[str, Any]  # its columns of every row (results.CELL_COLUMNS that apply)

    @property
    def valid(self) -> bool:
        """False: a round trip whose pivots are too rarely in the pivot language to prove anything."""
        return bool(self.columns.get("valid", True))


@dataclass
class ScoredDataset:
    """The scores of one dataset's cells at every level."""

    name: str
    dataset: Dataset
    cells: list[ScoredCell]
    segment: Level  # the segment level, shared by every cell

    @property
    def plan_cells(self) -> list[Cell]:
        return [sc.cell for sc in self.cells]

    @property
    def segment_results(self) -> dict[tuple[CellId, str], MetricResult]:
        assert self.segment.results is not None  # the segment level is always scored
        return self.segment.results


def shared_levels(
    dataset: Dataset, produced: Sequence[tuple[Cell, CellOutput]], scorer: Scorer, sentence: bool = True
) -> list[Level]:
    """Every cell scored at each level the dataset is scored at, all cells of a level in one call."""
    inputs = {cell.id: dataset.shared_levels(out.units) for cell, out in produced}
    first_cell = produced[0][0].id
    levels = []
    for k, first in enumerate(inputs[first_cell]):
        hyps = {cell: found[k].hypotheses for cell, found in inputs.items()}
        results = scorer(
            dataset.target_lang,
            first.references,
            hyps,
            first.sentence and sentence,
            first.label,
            first.sources,
            dataset.source_lang,
        )
        levels.append(Level(first.name, first.references, hyps, results))
    return levels


def own_levels(
    dataset: Dataset, cell: Cell, segment_hyps: list[str], pivots: list[str] | None, pivot_langs, scorer: Scorer
) -> list[Level]:
    """The levels of one cell alone, where its dataset's kind has them: a round trip's segments with the pivot on
    target, and its pivots against the source (reference-free metrics only, when the run has one)."""
    free = [m for m in scorer.metrics if m.uses_sources]
    levels = []
    for found in dataset.cell_levels(segment_hyps, pivots, pivot_langs):
        if found.reference_free and not free:
            continue  # a reference-based metric has nothing to score it against
        hyps = {cell.id: found.hypotheses}
        results = None
        if found.hypotheses:
            results = scorer(
                found.target_lang or dataset.target_lang,
                found.references,
                hyps,
                found.sentence,
                found.label,
                found.sources,
                dataset.source_lang,
                metrics=free if found.reference_free else None,
            )
        langpair = f"{dataset.source_lang}-{found.target_lang}" if found.target_lang is not None else None
        levels.append(Level(found.name, found.references, hyps, results, langpair))
    return levels


def scored_cell(
    dataset: Dataset, cell: Cell, out: CellOutput, shared: list[Level], langs: dict, scorer: Scorer
) -> ScoredCell:
    """One cell's own levels scored, its languages and its columns (off target, empty outputs, and its kind's)."""
    # a hypothesis too short to tell its language counts as unknown (langid.MIN_LETTERS); pivots keep every guess
    unit_langs = known_languages(out.units, langs)
    pivot_langs = [langs[text] for text in out.pivots] if out.pivots is not None else None
    own = own_levels(dataset, cell, shared[0].hyps[cell.id], out.pivots, pivot_langs, scorer)
    out.stats.empty = sum(1 for hyp in out.units if not hyp.strip())
    columns = {
        "off_target_rate": off_target_rate(unit_langs, dataset.target_lang),
        "empty_outputs": out.stats.empty,
        **dataset.kind.columns(pivot_langs),
    }
    return ScoredCell(cell, out, unit_langs, pivot_langs, shared + own, columns)


def score_dataset(
    name: str, dataset: Dataset, produced: Sequence[tuple[Cell, CellOutput]], scorer: Scorer, sentence: bool = True
) -> ScoredDataset:
    """Every metric on every cell of one dataset, at every level the dataset is scored at (`sentence`: with
    sentence-level scores for segments.jsonl)."""
    shared = shared_levels(dataset, produced, scorer, sentence)
    texts = [text for _, out in produced for text in (*out.units, *(out.pivots or []))]
    langs = detect_distinct(texts, scorer.workers)
    cells = [scored_cell(dataset, cell, out, shared, langs, scorer) for cell, out in produced]
    return ScoredDataset(name, dataset, cells, shared[0])


def score_datasets(
    plan: Plan, outputs: Sequence[CellOutput], scorer: Scorer, sentence: bool = True
) -> list[ScoredDataset]:
    """Every dataset of the plan that has cells, scored (`outputs`: every cell's, in plan order)."""
    scored = []
    for name, dataset in plan.datasets.items():
        produced = [(cell, outputs[cell.id.index]) for cell in plan.cells_of(name)]
        if produced:
            scored.append(score_dataset(name, dataset, produced, scorer, sentence))
    return scored

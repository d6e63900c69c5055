"""What every dataset kind produces: aligned sources and reference streams, checked for shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, model_validator

from evalharness.configtypes import InputFile, Name, Strict, check_one_line
from evalharness.errors import UserError
from evalharness.textio import check_stream  # re-exported: datasets and metrics both check streams


class DatasetConfigBase(Strict):
    """Fields every dataset kind has."""

    name: Name
    max_segments: int | None = Field(strict=True, default=None, gt=0, description="keep only the first N segments")
    # Human system scores (a WMT DA ranking file, see evalharness.datasets.humanscores): agreement.csv correlates every
    # metric with them.
    human_scores: InputFile | None = Field(default=None, description="WMT DA system ranking file")
    human_score: Literal["z", "raw"] = Field(default="z", description="which mean of the file: z or raw")
    include_human: bool = Field(default=False, description="keep HUMAN/HUMAN-B rows (human translations) as systems")

    @model_validator(mode="after")
    def _human_options_need_a_file(self):
        if self.human_scores is None and {"human_score", "include_human"} & self.model_fields_set:
            raise ValueError("human_score and include_human need human_scores (a WMT DA ranking file)")
        return self


UNSPACED = {"zh", "ja", "th"}


def joiner(lang: str) -> str:
    """How sentences are joined into a segment: no space in Chinese, Japanese, Thai."""
    return "" if lang in UNSPACED else " "


@dataclass
class LevelInput:
    """One way of scoring a cell: the references and the cell's hypotheses at a level (segment, document, ...)."""

    name: str  # the `level` column: segment, document, or "segment, pivot on target"
    references: list[list[str]]
    hypotheses: list[str]
    label: str  # what the progress bar calls it
    sentence: bool = False  # with sentence-level scores (segments.jsonl): the segment level only
    sources: list[str] | None = None  # what each hypothesis translates (reference-free metrics read it)
    # A level without references (a round trip's pivots): only reference-free metrics score it, `references`
    # then repeats the sources (for the shape checks), and the hypotheses are in `target_lang`.
    reference_free: bool = False
    target_lang: str | None = None


@dataclass
class Dataset:
    """A test set in memory.

    `references` is a list of reference *streams* (sacrebleu's orientation): `references[k][i]` is reference k of
    segment i. Getting this the wrong way round makes sacrebleu silently score garbage (its issues #220, #272),
    so the constructor checks it.
    """

    name: str
    source_lang: str
    target_lang: str
    sources: list[str]
    references: list[list[str]]
    reference_names: list[str]
    doc_ids: list[str] | None = None
    # Hypotheses that came with the data (WMT XML <hyp system=...>), by system name.
    system_outputs: dict[str, list[str]] = field(default_factory=dict)
    # Segments in the file before `max_segments` cut it; hypothesis files must have this many lines.
    full_length: int | None = None
    # Documents: the source sentences whose translations, joined, form each scored segment (default: segment i
    # is source i), and whether the whole document is scored as one segment too.
    groups: list[tuple[int, ...]] | None = None
    document_references: list[str] | None = None  # per reference stream: the whole reference document
    unaligned_sources: int = 0  # source sentences linked to no reference sentence (translated, not scored)
    unaligned_references: int = 0  # reference sentences linked to no source sentence
    # Round trip: the systems translate the source into this language and back; the source is the reference.
    pivot_lang: str | None = None
    # A round trip whose pivots are in the pivot language less often than this proves nothing (a copy scores 100).
    valid_pivot_rate: float = 0.5
    # Files for the results folder (relative path -> text): cleaning reports, alignments.
    artifacts: dict[str, str] = field(default_factory=dict)
    # Human system scores by system name (config `human_scores`), for agreement.csv; None: none.
    human_scores: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if len(self.sources) == 0:
            raise UserError(f"dataset {self.name}: no segments")
        if self.groups is not None:
            for group in self.groups:
                if not group or any(not 0 <= k < len(self.sources) for k in group):
                    raise UserError(
                        f"dataset {self.name}: a segment refers to source sentences {group} that do not exist"
                    )
        n = self.n_segments
        if n == 0:
            raise UserError(f"dataset {self.name}: no segments")
        if not self.references:
            raise UserError(f"dataset {self.name}: no references")
        if len(self.reference_names) != len(self.references):
            raise UserError(
                f"dataset {self.name}: {len(self.reference_names)} reference names "
                f"for {len(self.references)} references"
            )
        if len(set(self.reference_names)) != len(self.reference_names):
            raise UserError(f"dataset {self.name}: duplicate reference names {self.reference_names}")
        for name, stream in zip(self.reference_names, self.references, strict=True):
            check_stream(stream, n, f"dataset {self.name}: reference {name}")
        for name, stream in self.system_outputs.items():
            check_one_line(name, f"dataset {self.name}: a system name")
            check_stream(stream, n, f"dataset {self.name}: system {name}")
        if self.doc_ids is not None:
            check_stream(self.doc_ids, n, f"dataset {self.name}: document ids")

    @property
    def n_segments(self) -> int:
        """Scored segments (aligned links for documents; otherwise one per source segment)."""
        return len(self.groups) if self.groups is not None else len(self.sources)

    def segment_hypotheses(self, unit_hypotheses: list[str]) -> list[str]:
        """Hypotheses per scored segment from the translations of the source units."""
        if self.groups is None:
            return unit_hypotheses
        return [" ".join(unit_hypotheses[k] for k in group) for group in self.groups]

    def produce(self, system, ctx, stats) -> tuple[list[str], list[str] | None]:
        """A cell's translations of the source units, and a round trip's pivots: a round trip translates into the
        pivot language and back; every other kind asks the system for its hypotheses once."""
        if self.pivot_lang is None:
            return system.hypotheses(self, ctx, stats), None
        pivots = system.translate(self.sources, self.source_lang, self.pivot_lang, ctx, stats)
        return system.translate(pivots, self.pivot_lang, self.source_lang, ctx, stats), pivots

    def first_leg(self) -> tuple[list[str], str, str]:
        """What every cell translates first, known before any cell runs (sources, from, into): what a
        distributed executor can send out at once. A round trip's way back depends on its pivots."""
        return self.sources, self.source_lang, self.pivot_lang or self.target_lang

    def shared_levels(self, units: list[str]) -> list[LevelInput]:
        """The levels every cell is scored at, from one cell's translations of the source units: its segments,
        and the whole document where the dataset is a document pair."""
        levels = [
            LevelInput(
                "segment",
                self.references,
                self.segment_hypotheses(units),
                f"{self.name} segments",
                sentence=True,
                sources=self.segment_sources(),
            )
        ]
        if self.document_references is not None:
            levels.append(
                LevelInput(
                    "document",
                    [[text] for text in self.document_references],
                    [joiner(self.target_lang).join(units)],
                    f"{self.name} documents",
                    sources=[joiner(self.source_lang).join(self.sources)],
                )
            )
        return levels

    def cell_level(self, segment_hypotheses: list[str], pivot_langs: list[str | None] | None) -> LevelInput | None:
        """A level of one cell alone: a round trip is also scored on just the segments whose pivot is in the
        pivot language (a copy, whose pivot is not, scores nothing there). None for every other kind."""
        if self.pivot_lang is None or pivot_langs is None:
            return None
        keep = [j for j, lang in enumerate(pivot_langs) if lang == self.pivot_lang]
        sources = self.segment_sources()
        return LevelInput(
            "segment, pivot on target",
            [[stream[j] for j in keep] for stream in self.references],
            [segment_hypotheses[j] for j in keep],
            f"{self.name} pivot on target",
            sources=[sources[j] for j in keep],
        )

    def pivot_level(self, pivots: list[str] | None) -> LevelInput | None:
        """A round trip's pivots, judged against the source by reference-free metrics: the translation into the
        pivot language has no reference, but a multilingual metric can still compare it with what it translates.
        None for every other kind."""
        if self.pivot_lang is None or pivots is None:
            return None
        return LevelInput(
            "pivot",
            [list(self.sources)],
            list(pivots),
            f"{self.name} pivots",
            sources=list(self.sources),
            reference_free=True,
            target_lang=self.pivot_lang,
        )

    def pivot_on_target_rate(self, pivot_langs: list[str | None] | None) -> float | None:
        """The share of a round trip's pivots in the pivot language (None when the dataset is no round trip)."""
        if self.pivot_lang is None or pivot_langs is None:
            return None
        return sum(lang == self.pivot_lang for lang in pivot_langs) / len(pivot_langs)

    def segment_sources(self) -> list[str]:
        return self.segment_hypotheses(self.sources)

    @property
    def langpair(self) -> str:
        return f"{self.source_lang}-{self.target_lang}"

    def __len__(self) -> int:
        return len(self.sources)

    def head(self, n: int | None) -> Dataset:
        """The first n segments (all of them when n is None)."""
        if n is None or n >= len(self):
            return self
        if self.groups is not None or self.pivot_lang is not None:
            raise UserError(
                f"dataset {self.name}: max_segments is for line-aligned datasets, not documents or round trips"
            )
        return Dataset(
            name=self.name,
            source_lang=self.source_lang,
            target_lang=self.target_lang,
            sources=self.sources[:n],
            references=[stream[:n] for stream in self.references],
            reference_names=self.reference_names,
            doc_ids=self.doc_ids[:n] if self.doc_ids is not None else None,
            system_outputs={name: stream[:n] for name, stream in self.system_outputs.items()},
            full_length=len(self),
            human_scores=self.human_scores,
        )

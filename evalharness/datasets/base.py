"""What every dataset kind produces: aligned sources and reference streams, checked for shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from evalharness.configtypes import InputFile, Name, Strict, check_one_line
from evalharness.errors import UserError
from evalharness.textio import check_stream  # re-exported: datasets and metrics both check streams

# Keys added by issue 27: a results folder's config.yaml lists them only when the config sets them, so that the
# config.yaml of a config without them keeps its bytes (results/seeds is committed).
LATER_KEYS = (
    "human_sys_scores",
    "human_system_csv",
    "human_segment_scores",
    "human_segment_kind",
    "human_direction",
)


class DatasetConfigBase(Strict):
    """Fields every dataset kind has."""

    name: Name
    max_segments: int | None = Field(strict=True, default=None, gt=0, description="keep only the first N segments")
    # Human scores (see evalharness.datasets.humanscores): agreement.csv and meta.csv correlate every metric with
    # them. System level: one of the three files; segment level: human_segment_scores.
    human_scores: InputFile | None = Field(default=None, description="WMT DA system ranking file")
    human_sys_scores: InputFile | None = Field(default=None, description="WMT ad-sys-scores-*.csv file")
    human_system_csv: InputFile | None = Field(default=None, description="CSV with the header system,score")
    human_segment_scores: InputFile | None = Field(
        default=None, description="TSV or JSONL of system, segment (1-based number), score"
    )
    human_segment_kind: Literal["da", "mqm", "esa"] = Field(default="da", description="what the segment scores are")
    human_direction: Literal["higher", "lower"] | None = Field(
        default=None, description="higher or lower is better, for human_system_csv and human_segment_scores"
    )
    human_score: Literal["z", "raw"] = Field(default="z", description="which mean of the WMT files: z or raw")
    include_human: bool = Field(default=False, description="keep HUMAN/HUMAN-B rows (human translations) as systems")

    @model_validator(mode="after")
    def _human_options_need_a_file(self):
        system_files = [k for k in ("human_scores", "human_sys_scores", "human_system_csv") if getattr(self, k)]
        if len(system_files) > 1:
            raise ValueError(f"give one system-level human score file, not {' and '.join(system_files)}")
        if not system_files and self.human_segment_scores is None:
            if {"human_score", "include_human"} & self.model_fields_set:
                raise ValueError(
                    "human_score and include_human need human_scores (or human_sys_scores, human_system_csv, "
                    "human_segment_scores)"
                )
        if "human_score" in self.model_fields_set and not {"human_scores", "human_sys_scores"} & set(system_files):
            raise ValueError("human_score (z or raw) is for the WMT DA files: human_scores or human_sys_scores")
        if self.human_segment_scores is None and "human_segment_kind" in self.model_fields_set:
            raise ValueError("human_segment_kind needs human_segment_scores")
        if self.human_direction is not None and self.human_segment_scores is None and self.human_system_csv is None:
            raise ValueError("human_direction is for human_system_csv and human_segment_scores")
        if self.human_segment_kind == "mqm" and self.human_segment_scores is not None and self.human_direction is None:
            raise ValueError(
                "human_segment_kind mqm needs human_direction: lower for error penalties (WMT's MQM files), "
                "higher for negated ones (mt-metrics-eval's)"
            )
        return self

    @model_serializer(mode="wrap")
    def _later_keys_only_when_set(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        for key in LATER_KEYS:
            if key not in self.model_fields_set:
                data.pop(key, None)
        return data


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


class Translator(Protocol):
    """What a dataset kind asks of a system under test (`systems.base.System` provides it; datasets cannot import
    systems). `ctx` is the run's `systems.context.RunContext` (caches, models, progress), `stats` the cell's
    `CellStats`: both opaque here, handed through to the system."""

    def hypotheses(self, dataset: Dataset, ctx: Any = None, stats: Any = None) -> list[str]:
        """One hypothesis per source unit of `dataset`, in order (translated, or given)."""
        ...

    def translate(
        self, texts: list[str], src_lang: str, tgt_lang: str, ctx: Any = None, stats: Any = None
    ) -> list[str]:
        """`texts` translated from `src_lang` into `tgt_lang` (a round trip's two legs)."""
        ...


class DatasetKind:
    """How one kind of dataset is evaluated: how its cells are produced, the levels it is scored at and its own
    columns of scores.csv. The plain kind (line-aligned segments) is this class itself; `Documents` and
    `RoundTrip` override what they do differently, so the runner iterates over levels and columns without asking
    which kind it has. The attributes below are what other readers (the manifest, refcheck, the engines' language
    checks) may ask of any kind; a kind that has them sets them."""

    groups: list[tuple[int, ...]] | None = None  # documents: the source units joined into each scored segment
    pivot_lang: str | None = None  # round trip: the language translated into and back from
    unaligned_sources: int = 0  # documents: source sentences linked to no reference sentence
    unaligned_references: int = 0  # documents: reference sentences linked to no source sentence
    document_references: list[str] | None = None  # per reference stream: the whole document (a document level)
    sliceable: bool = True  # `max_segments` can cut it

    def produce(self, dataset: Dataset, system: Translator, ctx: Any, stats: Any) -> tuple[list[str], list[str] | None]:
        """A cell's translations of the source units, and a round trip's pivots (None for other kinds)."""
        return system.hypotheses(dataset, ctx, stats), None

    def first_leg(self, dataset: Dataset) -> tuple[list[str], str, str]:
        """What every cell translates first (sources, from, into), known before any cell runs."""
        return dataset.sources, dataset.source_lang, dataset.target_lang

    def segment_hypotheses(self, units: list[str]) -> list[str]:
        """Hypotheses per scored segment from the translations of the source units."""
        if self.groups is None:
            return units
        return [" ".join(units[k] for k in group) for group in self.groups]

    def shared_levels(self, dataset: Dataset, units: list[str]) -> list[LevelInput]:
        """The levels every cell is scored at: its segments, and the whole document where there is a reference
        document."""
        levels = [
            LevelInput(
                "segment",
                dataset.references,
                self.segment_hypotheses(units),
                f"{dataset.name} segments",
                sentence=True,
                sources=dataset.segment_sources(),
            )
        ]
        if self.document_references is not None:
            levels.append(
                LevelInput(
                    "document",
                    [[text] for text in self.document_references],
                    [joiner(dataset.target_lang).join(units)],
                    f"{dataset.name} documents",
                    sources=[joiner(dataset.source_lang).join(dataset.sources)],
                )
            )
        return levels

    def cell_levels(
        self,
        dataset: Dataset,
        segment_hypotheses: list[str],
        pivots: list[str] | None,
        pivot_langs: list[str | None] | None,
    ) -> list[LevelInput]:
        """The levels of one cell alone (none but a round trip's)."""
        return []

    def columns(self, pivot_langs: list[str | None] | None) -> dict[str, Any]:
        """This kind's own columns of every row of a cell (the `results.Row` fields it sets)."""
        return {}

    def source_ids(self, segment: int) -> list[int] | None:
        """segments.jsonl's `source_ids` of a scored segment (1-based units it joins; None: it is unit i)."""
        return None

    @property
    def joins_units(self) -> bool:
        """Whether a scored segment joins the translations of several units (so its language is its own)."""
        return self.groups is not None


@dataclass(frozen=True)
class Documents(DatasetKind):
    """A document pair aligned into scored segments: each joins the translations of the source sentences of one
    link (`groups`), and the whole document is scored as one segment too (`document_references`)."""

    groups: list[tuple[int, ...]] | None = None
    document_references: list[str] | None = None
    unaligned_sources: int = 0
    unaligned_references: int = 0
    sliceable: bool = False

    def columns(self, pivot_langs: list[str | None] | None) -> dict[str, Any]:
        return {"unaligned_sources": self.unaligned_sources, "unaligned_references": self.unaligned_references}

    def source_ids(self, segment: int) -> list[int] | None:
        return [k + 1 for k in self.groups[segment]] if self.groups is not None else None


@dataclass(frozen=True)
class RoundTrip(DatasetKind):
    """A text with no source: the systems translate it into `pivot_lang` and back, and the text is its own
    reference. A cell whose pivots are in the pivot language less often than `valid_pivot_rate` proves nothing (a
    copy scores 100): it is marked not valid."""

    pivot_lang: str | None = None
    valid_pivot_rate: float = 0.5
    document_references: list[str] | None = None
    sliceable: bool = False

    def produce(self, dataset: Dataset, system: Translator, ctx: Any, stats: Any) -> tuple[list[str], list[str] | None]:
        assert self.pivot_lang is not None  # a round trip is built with its pivot
        pivots = system.translate(dataset.sources, dataset.source_lang, self.pivot_lang, ctx, stats)
        return system.translate(pivots, self.pivot_lang, dataset.source_lang, ctx, stats), pivots

    def first_leg(self, dataset: Dataset) -> tuple[list[str], str, str]:
        """The way there only: the way back depends on the pivots."""
        assert self.pivot_lang is not None
        return dataset.sources, dataset.source_lang, self.pivot_lang

    def cell_levels(
        self,
        dataset: Dataset,
        segment_hypotheses: list[str],
        pivots: list[str] | None,
        pivot_langs: list[str | None] | None,
    ) -> list[LevelInput]:
        """The segments whose pivot is in the pivot language (a copy, whose pivot is not, scores nothing there),
        and the pivots themselves against the source, for reference-free metrics: the translation into the pivot
        language has no reference, but a multilingual metric can still compare it with what it translates."""
        if pivots is None or pivot_langs is None:
            return []
        keep = [j for j, lang in enumerate(pivot_langs) if lang == self.pivot_lang]
        sources = dataset.segment_sources()
        return [
            LevelInput(
                "segment, pivot on target",
                [[stream[j] for j in keep] for stream in dataset.references],
                [segment_hypotheses[j] for j in keep],
                f"{dataset.name} pivot on target",
                sources=[sources[j] for j in keep],
            ),
            LevelInput(
                "pivot",
                [list(dataset.sources)],
                list(pivots),
                f"{dataset.name} pivots",
                sources=list(dataset.sources),
                reference_free=True,
                target_lang=self.pivot_lang,
            ),
        ]

    def pivot_on_target_rate(self, pivot_langs: list[str | None] | None) -> float | None:
        """The share of a cell's pivots in the pivot language."""
        if pivot_langs is None:
            return None
        return sum(lang == self.pivot_lang for lang in pivot_langs) / len(pivot_langs)

    def columns(self, pivot_langs: list[str | None] | None) -> dict[str, Any]:
        """The share of pivots on target, and whether the cell is valid: computed here once, for scores.csv and
        the analyses alike."""
        rate = self.pivot_on_target_rate(pivot_langs)
        return {"pivot_on_target_rate": rate, "valid": rate is None or rate >= self.valid_pivot_rate}


PARALLEL = DatasetKind()


@dataclass
class Dataset:
    """A test set in memory.

    `references` is a list of reference *streams* (sacrebleu's orientation): `references[k][i]` is reference k of
    segment i. Getting this the wrong way round makes sacrebleu silently score garbage (its issues #220, #272),
    so the constructor checks it. `kind` says how it is evaluated (plain segments, documents, a round trip).
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
    kind: DatasetKind = PARALLEL
    # Files for the results folder (relative path -> text): cleaning reports, alignments.
    artifacts: dict[str, str] = field(default_factory=dict)
    # Human system scores by system name (config `human_scores` and the other human_* keys), for agreement.csv;
    # None: none. `human`: everything the human files gave (counts, segment scores), for meta.csv.
    human_scores: dict[str, float] | None = None
    human: Any = None  # datasets.humanscores.HumanJudgments

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
    def groups(self) -> list[tuple[int, ...]] | None:
        return self.kind.groups

    @property
    def pivot_lang(self) -> str | None:
        return self.kind.pivot_lang

    @property
    def unaligned_sources(self) -> int:
        return self.kind.unaligned_sources

    @property
    def unaligned_references(self) -> int:
        return self.kind.unaligned_references

    @property
    def n_segments(self) -> int:
        """Scored segments (aligned links for documents; otherwise one per source segment)."""
        return len(self.groups) if self.groups is not None else len(self.sources)

    def segment_hypotheses(self, unit_hypotheses: list[str]) -> list[str]:
        """Hypotheses per scored segment from the translations of the source units."""
        return self.kind.segment_hypotheses(unit_hypotheses)

    def produce(self, system: Translator, ctx: Any, stats: Any) -> tuple[list[str], list[str] | None]:
        """A cell's translations of the source units, and a round trip's pivots, as the dataset's kind says."""
        return self.kind.produce(self, system, ctx, stats)

    def first_leg(self) -> tuple[list[str], str, str]:
        """What every cell translates first, known before any cell runs (sources, from, into): what a
        distributed executor can send out at once. A round trip's way back depends on its pivots."""
        return self.kind.first_leg(self)

    def shared_levels(self, units: list[str]) -> list[LevelInput]:
        """The levels every cell is scored at, from one cell's translations of the source units."""
        return self.kind.shared_levels(self, units)

    def cell_levels(
        self, segment_hypotheses: list[str], pivots: list[str] | None, pivot_langs: list[str | None] | None
    ) -> list[LevelInput]:
        """The levels of one cell alone, where its kind has them (a round trip's)."""
        return self.kind.cell_levels(self, segment_hypotheses, pivots, pivot_langs)

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
        if not self.kind.sliceable:
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
            kind=self.kind,
            human_scores=self.human_scores,
            human=self.human,
        )

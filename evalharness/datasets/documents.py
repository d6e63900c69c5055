"""`documents` and `roundtrip`: raw documents turned into scored segments.

`documents`: a source document and a reference document (plain text, each with its language) that are not
line-aligned. Each is cleaned of web boilerplate (rules in evalharness.documents.clean; the dropped lines go to
`cleaning/<dataset>.txt` in the results), split into sentences (pysbd), and the sentences are aligned
(Gale-Church with lexical anchors, evalharness.documents.align) to `alignments/<dataset>.tsv`. The alignment
depends on the two documents only, so it is the same for every system under test. Systems translate every
source sentence; a scored segment is the translations of a link's source sentences joined against its
reference sentences joined. Sentences without a counterpart are counted (`unaligned_sources`,
`unaligned_references`), and the whole document is scored as one segment too (level `document`).

`roundtrip`: a text with no source (here: English machine-translated from an unavailable Chinese article).
Systems translate it into a pivot language and back; the original sentences are the references.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from pydantic import Field

from evalharness.configtypes import InputFile, LangPair, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase, Documents, RoundTrip, joiner
from evalharness.documents.align import AlignConfig, align
from evalharness.documents.clean import CleanConfig, clean, format_dropped
from evalharness.documents.split import check_language, split_sentences
from evalharness.errors import UserError
from evalharness.textio import read_text


class DocumentsConfig(DatasetConfigBase):
    kind: Literal["documents"]
    langpair: LangPair
    source: InputFile
    reference: InputFile
    clean: CleanConfig | None = Field(default_factory=CleanConfig, description="null: no cleaning")
    align: AlignConfig = Field(default_factory=AlignConfig)
    parallel: bool = Field(default=False, description="the documents are sentence-parallel already: link i to i")
    document_level: bool = Field(default=True, description="also score the whole document as one segment")


class RoundtripConfig(DatasetConfigBase):
    kind: Literal["roundtrip"]
    path: InputFile
    lang: str = Field(description="the text's language (the round trip starts and ends in it)")
    pivot: str = Field(description="the language the systems translate into and back from")
    clean: CleanConfig | None = Field(default_factory=CleanConfig, description="null: no cleaning")
    document_level: bool = True
    valid_pivot_rate: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a cell is valid when at least this share of its pivots is in the pivot "
        "language (a copy of the source is not, and would score 100)",
    )


def sentences_of(path, lang: str, cfg: CleanConfig | None) -> tuple[list[str], str]:
    """Clean and split one document; also the cleaning report."""
    try:
        check_language(lang)
    except UserError as err:
        raise UserError(f"{path}: {err}") from err
    text = read_text(path)
    if cfg is None:
        lines, report = text.splitlines(), "cleaning switched off\n"
    else:
        result = clean(text, lang, cfg)
        lines, report = result.kept, format_dropped(result)
    sentences = split_sentences(lines, lang)
    if not sentences:
        raise UserError(f"{path}: no sentences left after cleaning")
    return sentences, f"# {path.name} ({lang})\n{report}"


def alignment_tsv(links, src: list[str], ref: list[str], src_lang: str, tgt_lang: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["source_ids", "reference_ids", "source", "reference", "score"])
    for link in links:
        writer.writerow(
            [
                ",".join(str(i + 1) for i in link.source_ids),
                ",".join(str(i + 1) for i in link.reference_ids),
                joiner(src_lang).join(src[i] for i in link.source_ids),
                joiner(tgt_lang).join(ref[i] for i in link.reference_ids),
                f"{link.score:.3f}",
            ]
        )
    return out.getvalue()


def load_documents(cfg: DocumentsConfig) -> Dataset:
    src_lang, tgt_lang = split_langpair(cfg.langpair)
    src, src_report = sentences_of(cfg.source, src_lang, cfg.clean)
    ref, ref_report = sentences_of(cfg.reference, tgt_lang, cfg.clean)
    if cfg.parallel:
        if len(src) != len(ref):
            raise UserError(
                f"dataset {cfg.name}: parallel is true but the documents have {len(src)} and {len(ref)} sentences"
            )
        from evalharness.documents.align import Link

        links = [Link((i,), (i,), 0.0) for i in range(len(src))]
    else:
        links = align(src, ref, cfg.align)
    scored = [link for link in links if link.source_ids and link.reference_ids]
    if not scored:
        raise UserError(f"dataset {cfg.name}: no source sentence could be aligned with a reference sentence")
    join = joiner(tgt_lang)
    return Dataset(
        name=cfg.name,
        source_lang=src_lang,
        target_lang=tgt_lang,
        sources=src,
        references=[[join.join(ref[i] for i in link.reference_ids) for link in scored]],
        reference_names=[cfg.reference.name],
        kind=Documents(
            groups=[link.source_ids for link in scored],
            document_references=[join.join(ref)] if cfg.document_level else None,
            unaligned_sources=sum(len(link.source_ids) for link in links if not link.reference_ids),
            unaligned_references=sum(len(link.reference_ids) for link in links if not link.source_ids),
        ),
        artifacts={
            f"cleaning/{cfg.name}.txt": src_report + "\n" + ref_report,
            f"alignments/{cfg.name}.tsv": alignment_tsv(links, src, ref, src_lang, tgt_lang),
        },
    )


def load_roundtrip(cfg: RoundtripConfig) -> Dataset:
    try:
        check_language(cfg.pivot)
    except UserError as err:
        raise UserError(f"dataset {cfg.name}: pivot: {err}") from err
    if cfg.pivot == cfg.lang:
        raise UserError(f"dataset {cfg.name}: pivot must differ from lang ({cfg.lang})")
    sentences, report = sentences_of(cfg.path, cfg.lang, cfg.clean)
    return Dataset(
        name=cfg.name,
        source_lang=cfg.lang,
        target_lang=cfg.lang,
        sources=sentences,
        references=[list(sentences)],
        reference_names=[cfg.path.name],
        kind=RoundTrip(
            pivot_lang=cfg.pivot,
            valid_pivot_rate=cfg.valid_pivot_rate,
            document_references=[joiner(cfg.lang).join(sentences)] if cfg.document_level else None,
        ),
        artifacts={f"cleaning/{cfg.name}.txt": report},
    )

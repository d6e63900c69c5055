"""`wmt-xml`: a WMT test set in the XML format WMT releases since 2021 (documents, <src>, <ref>, <hyp>).

Parsing is sacrebleu's own (`WMTXMLDataset._unwrap_wmt21_or_later`, through `metrics.sacrebleu_adapter`), so
segments, document ids and the skipping of test-suite documents match what `sacrebleu -t wmt22` reads. One
difference: sacrebleu's reader also leaves out, without a word, every segment that has no reference (a `<ref>`
or one of its `<seg>`s missing or empty), and the others would be scored as if they were the test set; such a
file is refused here, naming the first such segment.
"""

from __future__ import annotations

from typing import Literal

import lxml.etree as ET
from pydantic import Field

from evalharness.configtypes import InputFile, LangPair, split_langpair
from evalharness.datasets.base import Dataset, DatasetConfigBase
from evalharness.errors import UserError
from evalharness.metrics import sacrebleu_adapter as sb


class WmtXmlConfig(DatasetConfigBase):
    kind: Literal["wmt-xml"]
    path: InputFile
    langpair: LangPair | None = Field(default=None, description="defaults to the <src>/<ref> lang attributes")
    references: list[str] | None = Field(default=None, description="translator ids (e.g. [A, B]); default: all")


def _languages(tree, path) -> tuple[str, str]:
    src = {e.get("lang") for e in tree.getroot().iter("src")}
    ref = {e.get("lang") for e in tree.getroot().iter("ref")}
    if len(src) != 1 or len(ref) != 1:
        raise UserError(
            f"{path}: expected one source and one reference language, "
            f"found {sorted(map(str, src))} and {sorted(map(str, ref))}"
        )
    return src.pop(), ref.pop()


def _check_every_segment_has_a_reference(tree, fields: dict[str, list], path) -> None:
    """Refuse what sacrebleu's reader drops: source segments (outside test-suite documents, which it skips on
    purpose) without the text of any reference."""
    missing = []  # the <seg> elements of the source without a reference
    expected = 0
    for doc in tree.getroot().iter("doc"):
        if "testsuite" in doc.attrib:
            continue
        translated = {seg.get("id") for ref in doc.iter("ref") for seg in ref.iter("seg") if seg.text}
        segments = [seg for src in doc.iter("src") for seg in src.iter("seg")]
        expected += len(segments)
        missing += [(doc, seg) for seg in segments if seg.get("id") not in translated]
    if missing:
        doc, seg = missing[0]
        count = f"{len(missing)} source segment{'s have' if len(missing) > 1 else ' has'}"
        raise UserError(
            f"{path}:{seg.sourceline}: {count} no reference (first: document {doc.get('id')}, segment "
            f"{seg.get('id')}); sacrebleu's reader would leave them out and score the rest"
        )
    if len(fields.get("src", [])) != expected:  # dropped for a reason the check above does not see
        raise UserError(
            f"{path}: sacrebleu's reader finds {len(fields.get('src', []))} of its {expected} source segments; "
            f"is a <ref> document missing or out of order?"
        )


def load(cfg: WmtXmlConfig) -> Dataset:
    try:
        tree = ET.parse(str(cfg.path))
        src_lang, tgt_lang = _languages(tree, cfg.path)
        fields = sb.read_wmt_xml(str(cfg.path))
        # `sacrebleu -t` reads the text files its process_to_text writes, each segment through `_clean`
        # (whitespace runs, NBSP included, collapsed to one space): do the same, so both kinds agree.
        fields = {key: [sb.clean_segment(s) if s else "" for s in values] for key, values in fields.items()}
    except ET.XMLSyntaxError as err:
        raise UserError(f"{cfg.path}:{err.lineno}: invalid XML ({err.msg})") from err
    except (AssertionError, KeyError, ValueError) as err:
        raise UserError(f"{cfg.path}: not a WMT test set XML file ({type(err).__name__}: {err})") from err
    _check_every_segment_has_a_reference(tree, fields, cfg.path)
    if cfg.langpair:
        src_lang, tgt_lang = split_langpair(cfg.langpair)
    return from_fields(cfg.name, fields, src_lang, tgt_lang, cfg.references, str(cfg.path))


def from_fields(
    name: str, fields: dict[str, list], src_lang: str, tgt_lang: str, wanted: list[str] | None, origin: str
) -> Dataset:
    """Turn sacrebleu's field dictionary (src, ref:A, ref:B, docid, SYSTEM...) into a Dataset."""
    available = sorted(k.split(":", 1)[1] if ":" in k else k for k in fields if k == "ref" or k.startswith("ref:"))
    if not available:
        raise UserError(f"{origin}: no references")
    chosen = wanted or available
    streams = []
    for translator in chosen:
        key = "ref" if translator == "ref" else f"ref:{translator}"
        if key not in fields:
            raise UserError(f"{origin}: no reference by translator {translator!r} (available: {', '.join(available)})")
        streams.append([s or "" for s in fields[key]])
    if not fields.get("src"):
        raise UserError(f"{origin}: no source segments")
    meta = {"src", "docid", "origlang", "domain"}
    systems = {
        k: [s or "" for s in v] for k, v in fields.items() if k not in meta and k != "ref" and not k.startswith("ref:")
    }
    return Dataset(
        name=name,
        source_lang=src_lang,
        target_lang=tgt_lang,
        sources=[s or "" for s in fields["src"]],
        references=streams,
        reference_names=list(chosen),
        doc_ids=list(fields["docid"]) if "docid" in fields else None,
        system_outputs=systems,
    )

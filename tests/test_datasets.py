"""Dataset kinds, system discovery and shape checks, on real WMT22 files and the real sacrebleu."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lxml.etree as ET
import pytest
from evalharness.datasets import load_dataset
from evalharness.datasets.parallel import ParallelConfig
from evalharness.datasets.tabular import JsonlConfig, TsvConfig
from evalharness.datasets.wmtxml import WmtXmlConfig
from evalharness.errors import UserError
from evalharness.metrics.scoring import check_shapes
from evalharness.systems import IdentitySystem, OutputsSystem
from evalharness.systems.identity import IdentityConfig
from evalharness.systems.outputs import OutputsConfig
from evalharness.textio import read_lines
from sacrebleu.dataset.wmt_xml import WMTXMLDataset

from conftest import error_lines

WMT22 = Path(__file__).resolve().parents[1] / "data" / "wmt22"
DE_FR_XML = WMT22 / "xml" / "wmttest2022.de-fr.all.xml"
DE_EN_SYSTEMS = {
    "JDExploreAcademy",
    "LT22",
    "Lan-Bridge",
    "Online-A",
    "Online-B",
    "Online-G",
    "Online-W",
    "Online-Y",
    "PROMT",
}
N = 20


def wmt22(*parts: str) -> Path:
    path = WMT22.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path}")
    return path


@pytest.fixture
def de_en(tmp_path) -> dict[str, Path]:
    """The first 20 lines of WMT22 de-en source, reference A and reference B, as files."""
    files = {
        "src.de": wmt22("sources", "generaltest2022.de-en.src.de"),
        "ref.A.en": wmt22("references", "generaltest2022.de-en.ref.A.en"),
        "ref.B.en": wmt22("references", "generaltest2022.de-en.ref.B.en"),
    }
    out = {}
    for name, path in files.items():
        out[name] = tmp_path / name
        out[name].write_text("\n".join(read_lines(path)[:N]) + "\n", encoding="utf-8")
    return out


def parallel(de_en, **extra):
    cfg = ParallelConfig(
        kind="parallel",
        name="p",
        langpair="de-en",
        source=de_en["src.de"],
        references=[de_en["ref.A.en"], de_en["ref.B.en"]],
        **extra,
    )
    return load_dataset(cfg)


def xml_dataset(**extra):
    return load_dataset(WmtXmlConfig(kind="wmt-xml", name="x", path=wmt22("xml", DE_FR_XML.name), **extra))


# ---------------------------------------------------------------- parallel


def test_parallel_loads_source_and_two_reference_streams(de_en):
    ds = parallel(de_en)
    src = read_lines(de_en["src.de"])
    ref_a, ref_b = read_lines(de_en["ref.A.en"]), read_lines(de_en["ref.B.en"])
    assert (ds.source_lang, ds.target_lang, len(ds)) == ("de", "en", N)
    assert ds.sources == src
    # Streams: references[k][i] is reference k of segment i.
    assert len(ds.references) == 2 and all(len(stream) == N for stream in ds.references)
    assert ds.references[0] == ref_a and ds.references[1] == ref_b
    assert ds.references[1][5] == ref_b[5]


def test_parallel_max_segments_cuts_every_stream(de_en):
    ds = parallel(de_en, max_segments=7)
    assert len(ds) == 7 and ds.full_length == N
    assert ds.sources == read_lines(de_en["src.de"])[:7]
    assert [len(stream) for stream in ds.references] == [7, 7]
    assert ds.references[1] == read_lines(de_en["ref.B.en"])[:7]


def test_parallel_reference_names_default_to_file_names(de_en):
    assert parallel(de_en).reference_names == ["ref.A.en", "ref.B.en"]
    assert parallel(de_en, reference_names=["A", "B"]).reference_names == ["A", "B"]


# ---------------------------------------------------------------- tsv and jsonl


def same_content(a, b) -> None:
    assert a.sources == b.sources
    assert a.references == b.references
    assert (a.source_lang, a.target_lang) == (b.source_lang, b.target_lang)


def test_tsv_with_header_and_column_names_equals_the_parallel_files(de_en, tmp_path):
    ds_par = parallel(de_en)
    path = tmp_path / "data.tsv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=None, lineterminator="\n")
        writer.writerow(["doc", "de", "en_A", "en_B"])
        for i in range(N):
            writer.writerow([f"d{i // 5}", ds_par.sources[i], ds_par.references[0][i], ds_par.references[1][i]])
    ds = load_dataset(
        TsvConfig(
            kind="tsv",
            name="t",
            langpair="de-en",
            path=path,
            source_column="de",
            reference_columns=["en_A", "en_B"],
            doc_id_column="doc",
        )
    )
    same_content(ds, ds_par)
    assert ds.reference_names == ["en_A", "en_B"]
    assert ds.doc_ids == [f"d{i // 5}" for i in range(N)]


def test_jsonl_with_fields_and_doc_ids_equals_the_parallel_files(de_en, tmp_path):
    ds_par = parallel(de_en)
    path = tmp_path / "data.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"doc{i // 4}",
                    "src": ds_par.sources[i],
                    "refA": ds_par.references[0][i],
                    "refB": ds_par.references[1][i],
                    "extra": i,
                },
                ensure_ascii=False,
            )
            + "\n"
            for i in range(N)
        ),
        encoding="utf-8",
    )
    ds = load_dataset(
        JsonlConfig(
            kind="jsonl",
            name="j",
            langpair="de-en",
            path=path,
            source_field="src",
            reference_fields=["refA", "refB"],
            doc_id_field="id",
        )
    )
    same_content(ds, ds_par)
    assert ds.reference_names == ["refA", "refB"]
    assert ds.doc_ids == [f"doc{i // 4}" for i in range(N)]


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def tsv_config(path: Path, **extra) -> TsvConfig:
    options = {"source_column": "de", "reference_columns": ["en"], **extra}
    return TsvConfig(kind="tsv", name="t", langpair="de-en", path=path, **options)


def test_tsv_row_with_more_columns_than_its_header_is_refused(de_en, tmp_path):
    """A tab inside a segment's text shifts the row: its columns no longer match the header's."""
    ds = parallel(de_en)
    rows = [["de", "en"]] + [[src, ref] for src, ref in zip(ds.sources, ds.references[0], strict=True)]
    rows[4][1] = rows[4][1].replace(" ", "\t", 1)
    path = write_tsv(tmp_path / "data.tsv", rows)
    with pytest.raises(UserError, match=r"data.tsv:5: has 3 columns, the header \(line 1\) has 2"):
        load_dataset(tsv_config(path))


def test_tsv_row_with_more_columns_than_the_first_row_is_refused_without_a_header(de_en, tmp_path):
    ds = parallel(de_en)
    rows = [[src, ref] for src, ref in zip(ds.sources, ds.references[0], strict=True)]
    rows[6][0] = rows[6][0].replace(" ", "\t", 1)
    path = write_tsv(tmp_path / "data.tsv", rows)
    with pytest.raises(UserError, match=r"data.tsv:7: has 3 columns, line 1 has 2"):
        load_dataset(tsv_config(path, header=False, source_column=0, reference_columns=[1]))


@pytest.mark.parametrize(
    "columns,key",
    [
        ({"source_column": -1, "reference_columns": [1]}, "source_column"),
        ({"source_column": 0, "reference_columns": [-1]}, "reference_columns"),
    ],
)
def test_tsv_negative_column_index_is_refused(de_en, tmp_path, columns, key):
    ds = parallel(de_en)
    path = write_tsv(tmp_path / "data.tsv", [[s, r] for s, r in zip(ds.sources, ds.references[0], strict=True)])
    with pytest.raises(UserError, match=f"data.tsv: {key} -1: a column index counts from 0"):
        load_dataset(tsv_config(path, header=False, **columns))


# ---------------------------------------------------------------- wmt-xml


@pytest.fixture(scope="module")
def unwrapped() -> dict[str, list]:
    """sacrebleu's own reading of the XML, each segment through sacrebleu's `_clean`, as `sacrebleu -t` has it."""
    fields = WMTXMLDataset._unwrap_wmt21_or_later(str(wmt22("xml", DE_FR_XML.name)))
    return {key: [WMTXMLDataset._clean(s) if s else "" for s in values] for key, values in fields.items()}


def test_wmt_xml_detects_languages_and_keeps_doc_ids_and_systems():
    ds = xml_dataset()
    assert (ds.source_lang, ds.target_lang) == ("de", "fr")
    assert ds.reference_names == ["A"]
    assert ds.doc_ids is not None and len(ds.doc_ids) == len(ds)
    assert len(set(ds.doc_ids)) > 1
    assert {"LT22", "Online-A", "Online-B", "Online-G", "Online-W", "Online-Y"} <= set(ds.system_outputs)
    assert not {"src", "docid", "origlang", "domain", "ref", "ref:A"} & set(ds.system_outputs)
    assert all(len(hyps) == len(ds) for hyps in ds.system_outputs.values())


def test_wmt_xml_has_sacrebleus_segments(unwrapped):
    ds = xml_dataset()
    assert len(ds) == len(unwrapped["src"]) == 1984
    assert ds.sources == unwrapped["src"]
    assert ds.references == [unwrapped["ref:A"]]
    assert ds.doc_ids == unwrapped["docid"]
    for name, hyps in ds.system_outputs.items():
        assert hyps == unwrapped[name], name


def xml_without(tmp_path: Path, xpath: str) -> Path:
    """The WMT22 de-fr test set with the first element at `xpath` removed."""
    tree = ET.parse(str(wmt22("xml", DE_FR_XML.name)))
    element = tree.getroot().xpath(xpath)[0]
    element.getparent().remove(element)
    path = tmp_path / DE_FR_XML.name
    tree.write(str(path), encoding="utf-8", xml_declaration=True)
    return path


@pytest.mark.parametrize(
    "xpath,expected",
    [
        ("(//doc)[2]/ref", "9 source segments have no reference (first: document {doc}, segment 1)"),
        ("(//doc)[2]/ref//seg[@id='3']", "1 source segment has no reference (first: document {doc}, segment 3)"),
    ],
)
def test_wmt_xml_segment_without_a_reference_is_refused(tmp_path, xpath, expected):
    """sacrebleu's reader leaves a segment without any reference out: the other segments would be scored, and
    the scores cover less than the test set without a word."""
    path = xml_without(tmp_path, xpath)
    doc = ET.parse(str(path)).getroot().xpath("(//doc)[2]/@id")[0]
    with pytest.raises(UserError) as err:
        load_dataset(WmtXmlConfig(kind="wmt-xml", name="x", path=path))
    assert str(err.value).startswith(f"{path}:")
    assert expected.format(doc=doc) in str(err.value)


def test_outputs_xml_system_star_expands_to_every_system_in_the_xml():
    ds = xml_dataset()
    cfg = OutputsConfig(engine="outputs", name="all", xml_system="*")
    systems = OutputsSystem.expand(cfg, ds)
    assert sorted(s.name for s in systems) == sorted(ds.system_outputs)
    assert len(systems) == 6
    for system in systems:
        assert system.hypotheses(ds) == ds.system_outputs[system.name]


# ---------------------------------------------------------------- sacrebleu (offline, through its cache)


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )


LOAD_SACREBLEU = """
import json
from evalharness.datasets import load_dataset
from evalharness.datasets.sacrebleu_set import SacrebleuConfig
ds = load_dataset(SacrebleuConfig(kind="sacrebleu", name="s", test_set="wmt22", langpair="de-fr"))
print(json.dumps({"langs": [ds.source_lang, ds.target_lang], "sources": ds.sources, "references": ds.references,
                  "reference_names": ds.reference_names, "doc_ids": ds.doc_ids,
                  "systems": sorted(ds.system_outputs)}))
"""


def test_sacrebleu_kind_reads_the_same_test_set_from_sacrebleus_cache(tmp_path):
    raw = tmp_path / "sacrebleu" / "wmt22" / "raw"
    (raw / "wmt22-news-systems-1.1" / "xml").mkdir(parents=True)
    shutil.copy(wmt22("xml", DE_FR_XML.name), raw / "wmt22-news-systems-1.1" / "xml" / DE_FR_XML.name)
    (raw / "wmt22.v1.1.tar.gz").write_bytes(b"placeholder: the tarball is already extracted here\n")
    proc = run_python(LOAD_SACREBLEU, {"SACREBLEU": str(tmp_path / "sacrebleu")})
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    ds = xml_dataset()
    assert got["langs"] == ["de", "fr"]
    assert len(got["sources"]) == len(ds) == 1984
    assert got["sources"] == ds.sources
    assert got["references"] == ds.references
    assert got["reference_names"] == ds.reference_names
    assert got["doc_ids"] == ds.doc_ids
    assert got["systems"] == sorted(ds.system_outputs)


def test_sacrebleu_kind_offline_without_cache_says_where_to_put_the_files(tmp_path):
    cache = tmp_path / "empty-sacrebleu"
    cache.mkdir()
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "datasets:\n  - {name: w, kind: sacrebleu, test_set: wmt22, langpair: de-fr}\n"
        "systems:\n  - {name: copy, engine: identity}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(config), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, "SACREBLEU": str(cache)},
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert str(cache / "wmt22" / "raw" / "wmt22.v1.1.tar.gz") in lines[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- systems


def test_outputs_system_pattern_discovers_the_nine_de_en_submissions():
    ds = load_dataset(
        ParallelConfig(
            kind="parallel",
            name="wmt22",
            langpair="de-en",
            source=wmt22("sources", "generaltest2022.de-en.src.de"),
            references=[wmt22("references", "generaltest2022.de-en.ref.A.en")],
        )
    )
    pattern = str(WMT22 / "system-outputs" / "generaltest2022.{langpair}.hyp.{system}.en")
    systems = OutputsSystem.expand(OutputsConfig(engine="outputs", name="wmt22", path=pattern), ds)
    assert {s.name for s in systems} == DE_EN_SYSTEMS
    assert len(systems) == 9
    promt = next(s for s in systems if s.name == "PROMT")
    assert promt.hypotheses(ds) == read_lines(wmt22("system-outputs", "generaltest2022.de-en.hyp.PROMT.en"))


def test_identity_returns_the_sources(de_en):
    ds = parallel(de_en)
    (system,) = IdentitySystem.expand(IdentityConfig(engine="identity", name="copy"), ds)
    assert system.hypotheses(ds) == ds.sources


# ---------------------------------------------------------------- shape checks


def test_check_shapes_rejects_a_flat_list_of_references(de_en):
    refs = read_lines(de_en["ref.A.en"])
    with pytest.raises(UserError, match="flat list"):
        check_shapes(refs, {"sys": refs})


def test_check_shapes_rejects_hypotheses_of_the_wrong_length(de_en):
    refs = read_lines(de_en["ref.A.en"])
    with pytest.raises(UserError, match=f"has {N - 1} segments, expected {N}"):
        check_shapes([refs], {"sys": refs[:-1]})
    assert check_shapes([refs], {"sys": refs}) == N


def test_check_shapes_rejects_a_segment_that_is_not_a_string(de_en):
    refs = read_lines(de_en["ref.A.en"])
    with pytest.raises(UserError, match="segment 3 is a NoneType"):
        check_shapes([refs], {"sys": refs[:2] + [None] + refs[3:]})
    with pytest.raises(UserError, match="segment 1 is a list"):
        check_shapes([[[r] for r in refs]], {"sys": refs})

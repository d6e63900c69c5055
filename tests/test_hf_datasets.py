"""`kind: hf`: test sets in Hugging Face `datasets` formats, built here with the real `datasets` library."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from evalharness.datasets import load_dataset
from evalharness.datasets.hf import HfConfig
from evalharness.errors import UserError
from pydantic import ValidationError

from conftest import ROOT, run_cli

datasets = pytest.importorskip("datasets")

GERMAN = ["Das Museum ist montags geschlossen.", "Der Zug hat Verspätung.", "Es wird warm."]
ENGLISH = ["The museum is closed on Mondays.", "The train is late.", "It will be warm."]
TABLE = {"src": GERMAN, "ref": ENGLISH, "doc": ["d1", "d1", "d2"]}


def config(**fields) -> HfConfig:
    return HfConfig.model_validate({"kind": "hf", "name": "hf-set", "langpair": "de-en", **fields})


def named(path: Path, **fields) -> HfConfig:
    """The `tsv` kind's keys naming the columns of TABLE."""
    return config(path=str(path), source_column="src", reference_columns=["ref"], **fields)


def test_reads_a_save_to_disk_folder(tmp_path):
    datasets.Dataset.from_dict(TABLE).save_to_disk(tmp_path / "saved")
    dataset = load_dataset(named(tmp_path / "saved", doc_id_column="doc"))
    assert (dataset.sources, dataset.references, dataset.reference_names) == (GERMAN, [ENGLISH], ["ref"])
    assert dataset.doc_ids == ["d1", "d1", "d2"]


def test_picks_the_split_of_a_saved_dataset_dict(tmp_path):
    test = datasets.Dataset.from_dict(TABLE)
    dev = datasets.Dataset.from_dict({"src": ["Hallo."], "ref": ["Hello."], "doc": ["x"]})
    datasets.DatasetDict({"dev": dev, "devtest": test}).save_to_disk(tmp_path / "saved")
    assert load_dataset(named(tmp_path / "saved", split="devtest")).sources == GERMAN
    assert load_dataset(named(tmp_path / "saved", split="dev")).sources == ["Hallo."]


def test_a_missing_split_names_the_key_and_the_splits_there_are(tmp_path):
    datasets.DatasetDict({"dev": datasets.Dataset.from_dict(TABLE)}).save_to_disk(tmp_path / "saved")
    with pytest.raises(UserError, match=r"^dataset hf-set: split 'test' not in .*saved \(splits: dev\)$"):
        load_dataset(named(tmp_path / "saved", split="test"))


def test_several_splits_need_split(tmp_path):
    one = datasets.Dataset.from_dict(TABLE)
    datasets.DatasetDict({"dev": one, "devtest": one}).save_to_disk(tmp_path / "saved")
    with pytest.raises(UserError, match=r"split: .* has several splits, pick one \(dev, devtest\)"):
        load_dataset(named(tmp_path / "saved"))


def test_reads_a_parquet_file(tmp_path):
    datasets.Dataset.from_dict(TABLE).to_parquet(tmp_path / "test.parquet")
    dataset = load_dataset(named(tmp_path / "test.parquet"))
    assert (dataset.sources, dataset.references) == (GERMAN, [ENGLISH])


def test_reads_a_json_lines_file(tmp_path):
    pairs = zip(GERMAN, ENGLISH, strict=True)
    lines = [json.dumps({"src": s, "ref": r, "doc": "d"}, ensure_ascii=False) for s, r in pairs]
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(named(tmp_path / "test.jsonl"))
    assert (dataset.sources, dataset.references) == (GERMAN, [ENGLISH])


def test_data_files_pick_files_of_a_folder(tmp_path):
    datasets.Dataset.from_dict(TABLE).to_parquet(tmp_path / "devtest.parquet")
    dev = datasets.Dataset.from_dict({"src": ["Hallo."], "ref": ["Hello."], "doc": ["x"]})
    dev.to_parquet(tmp_path / "dev.parquet")
    files = {"dev": "dev.parquet", "devtest": "devtest.parquet"}
    assert load_dataset(named(tmp_path, data_files=files, split="devtest")).sources == GERMAN


def test_flores_shape_picks_the_columns_of_the_langpair(tmp_path):
    table = {"id": [1, 2, 3], "sentence_deu_Latn": GERMAN, "sentence_eng_Latn": ENGLISH, "sentence_fra_Latn": GERMAN}
    datasets.Dataset.from_dict(table).save_to_disk(tmp_path / "flores")
    dataset = load_dataset(config(path=str(tmp_path / "flores"), shape="flores"))
    assert (dataset.sources, dataset.references, dataset.reference_names) == (
        GERMAN,
        [ENGLISH],
        ["sentence_eng_Latn"],
    )
    reverse = load_dataset(config(path=str(tmp_path / "flores"), shape="flores", langpair="en-de"))
    assert (reverse.sources, reverse.references) == (ENGLISH, [GERMAN])


def test_flores_shape_joins_flores_plus_long_layout_on_id(tmp_path):
    """FLORES+ on the hub: one row per language and sentence; the English rows come in another order."""
    table = {
        "id": [0, 1, 2, 2, 0, 1],
        "iso_639_3": ["deu", "deu", "deu", "eng", "eng", "eng"],
        "iso_15924": ["Latn"] * 6,
        "text": [*GERMAN, ENGLISH[2], ENGLISH[0], ENGLISH[1]],
    }
    datasets.Dataset.from_dict(table).to_parquet(tmp_path / "devtest.parquet")
    dataset = load_dataset(config(path=str(tmp_path / "devtest.parquet"), shape="flores"))
    assert (dataset.sources, dataset.references) == (GERMAN, [ENGLISH])


def test_flores_shape_without_the_language_names_what_there_is(tmp_path):
    table = {"id": [1], "sentence_deu_Latn": ["Hallo."], "sentence_fra_Latn": ["Bonjour."]}
    datasets.Dataset.from_dict(table).save_to_disk(tmp_path / "flores")
    with pytest.raises(UserError, match=r"reference_columns 'sentence_eng_Latn' is not a column .*sentence_fra_Latn"):
        load_dataset(config(path=str(tmp_path / "flores"), shape="flores"))


WMT24PP = {
    "lp": ["en-de_DE", "en-de_DE", "en-de_DE", "en-fr_FR"],
    "domain": ["news"] * 4,
    "document_id": ["a", "a", "b", "c"],
    "segment_id": [1, 2, 3, 4],
    "is_bad_source": [False, True, False, False],
    "source": ["One.", "Bad.", "Two.", "Three."],
    "target": ["Eins.", "Schlecht.", "Zwei.", "Trois."],
}


def test_wmt24pp_shape_keeps_the_pair_and_drops_bad_sources(tmp_path):
    datasets.Dataset.from_dict(WMT24PP).to_json(tmp_path / "wmt24pp.jsonl")
    dataset = load_dataset(config(path=str(tmp_path / "wmt24pp.jsonl"), shape="wmt24pp", langpair="en-de"))
    assert (dataset.sources, dataset.references) == (["One.", "Two."], [["Eins.", "Zwei."]])
    assert dataset.doc_ids == ["a", "b"]


def test_wmt24pp_shape_keeps_bad_sources_when_asked(tmp_path):
    datasets.Dataset.from_dict(WMT24PP).to_json(tmp_path / "wmt24pp.jsonl")
    cfg = config(path=str(tmp_path / "wmt24pp.jsonl"), shape="wmt24pp", langpair="en-de", keep_bad_sources=True)
    assert load_dataset(cfg).sources == ["One.", "Bad.", "Two."]


def test_wmt24pp_shape_asks_which_regional_variant(tmp_path):
    table = {**WMT24PP, "lp": ["en-pt_BR", "en-pt_PT", "en-pt_BR", "en-pt_PT"]}
    datasets.Dataset.from_dict(table).to_json(tmp_path / "wmt24pp.jsonl")
    with pytest.raises(UserError, match=r"lp: .* several en-pt pairs, pick one \(en-pt_BR, en-pt_PT\)"):
        load_dataset(config(path=str(tmp_path / "wmt24pp.jsonl"), shape="wmt24pp", langpair="en-pt"))
    cfg = config(path=str(tmp_path / "wmt24pp.jsonl"), shape="wmt24pp", langpair="en-pt", lp="en-pt_PT")
    assert load_dataset(cfg).sources == ["Three."]  # the other en-pt_PT row is a bad source


def test_lp_filters_rows_of_named_columns(tmp_path):
    table = {**TABLE, "pair": ["de-en", "fr-en", "de-en"]}
    datasets.Dataset.from_dict(table).to_parquet(tmp_path / "test.parquet")
    dataset = load_dataset(named(tmp_path / "test.parquet", lp="de-en", lp_column="pair"))
    assert dataset.sources == [GERMAN[0], GERMAN[2]]


def test_lp_without_rows_names_the_pairs_there_are(tmp_path):
    datasets.Dataset.from_dict({**TABLE, "lp": ["fr-en"] * 3}).to_parquet(tmp_path / "test.parquet")
    with pytest.raises(UserError, match=r"lp 'de-en': no row of .* in column 'lp' \(it has: fr-en\)$"):
        load_dataset(named(tmp_path / "test.parquet", lp="de-en"))


def test_a_missing_column_names_the_key_and_the_columns(tmp_path):
    datasets.Dataset.from_dict(TABLE).to_parquet(tmp_path / "test.parquet")
    cfg = config(path=str(tmp_path / "test.parquet"), source_column="source", reference_columns=["ref"])
    with pytest.raises(UserError, match=r"^dataset hf-set: source_column 'source' is not a column of .*test\.parquet "):
        load_dataset(cfg)
    with pytest.raises(UserError, match=r"\(columns: src, ref, doc\)$"):
        load_dataset(cfg)


def test_a_value_that_is_not_text_is_refused(tmp_path):
    datasets.Dataset.from_dict({"src": ["a", None], "ref": ["b", "c"]}).to_parquet(tmp_path / "test.parquet")
    with pytest.raises(UserError, match=r"source_column 'src', row 1: NoneType, expected a string"):
        load_dataset(named(tmp_path / "test.parquet"))


def test_columns_or_a_shape_are_required():
    with pytest.raises(ValidationError, match="give source_column and reference_columns, or a shape"):
        config(path="x.parquet", source_column="src")


def test_a_hub_dataset_not_in_the_cache_names_the_download_command(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cfg = config(path="openlanguagedata/flores_plus", shape="flores", split="devtest")
    with pytest.raises(UserError) as err:
        load_dataset(cfg)
    message = str(err.value)
    assert "\n" not in message
    assert "nor a dataset in the local Hugging Face cache" in message
    assert "hf download openlanguagedata/flores_plus --repo-type dataset" in message
    assert "datasets.load_dataset('openlanguagedata/flores_plus')" in message


def test_a_hub_dataset_in_the_local_cache_is_read_offline(tmp_path, monkeypatch):
    """The hub cache's layout (datasets--org--name/refs/main -> snapshots/<commit>/...), as `hf download` leaves
    it; nothing is fetched."""
    import huggingface_hub.constants

    commit = "0" * 40
    repo = tmp_path / "hub" / "datasets--someone--tiny-flores"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit / "devtest"
    snapshot.mkdir(parents=True)
    table = {"id": [1, 2, 3], "sentence_deu_Latn": GERMAN, "sentence_eng_Latn": ENGLISH}
    datasets.Dataset.from_dict(table).to_parquet(snapshot / "data.parquet")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    dataset = load_dataset(config(path="someone/tiny-flores", shape="flores"))
    assert (dataset.sources, dataset.references) == (GERMAN, [ENGLISH])
    assert json.loads(dataset.artifacts["hf/hf-set.json"])["commit"] == commit


def test_the_files_read_are_recorded_with_their_sha256(tmp_path):
    datasets.Dataset.from_dict(TABLE).save_to_disk(tmp_path / "saved")
    record = json.loads(load_dataset(named(tmp_path / "saved")).artifacts["hf/hf-set.json"])
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    assert record["files_sha256"] == {arrow.name: hashlib.sha256(arrow.read_bytes()).hexdigest()}
    assert (record["path"], record["rows_read"], record["rows_selected"]) == ("saved", 3, 3)


def test_the_files_of_every_split_are_recorded_by_their_path_in_the_folder(tmp_path):
    """A saved DatasetDict has one data-00000-of-00001.arrow per split: each keeps its own sha256."""
    one = datasets.Dataset.from_dict(TABLE)
    datasets.DatasetDict({"dev": one.select([0]), "devtest": one}).save_to_disk(tmp_path / "saved")
    record = json.loads(load_dataset(named(tmp_path / "saved", split="dev")).artifacts["hf/hf-set.json"])
    arrows = sorted((tmp_path / "saved").rglob("*.arrow"))
    assert len(arrows) == 2
    expected = {
        a.relative_to(tmp_path / "saved").as_posix(): hashlib.sha256(a.read_bytes()).hexdigest() for a in arrows
    }
    assert record["files_sha256"] == expected


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_malformed_data_file_is_one_line_naming_the_path(tmp_path, where):
    (tmp_path / "data").mkdir()
    bad = tmp_path / "data" / "test.jsonl"
    bad.write_text('{"src": "Hallo.", "ref": "Hello."}\n{"src": "Tschüss.", "ref": \n', encoding="utf-8")
    path = bad if where == "file" else bad.parent
    with pytest.raises(UserError) as err:
        load_dataset(named(path))
    message = str(err.value)
    assert message.startswith(f"dataset hf-set: path {path}: ") and "\n" not in message


def test_data_files_with_a_file_path_is_refused(tmp_path):
    datasets.Dataset.from_dict(TABLE).to_parquet(tmp_path / "test.parquet")
    with pytest.raises(UserError, match=r"data_files picks files inside a folder, and path .*test\.parquet is a file"):
        load_dataset(named(tmp_path / "test.parquet", data_files="*.parquet"))


def test_max_segments_cuts_an_hf_dataset(tmp_path):
    datasets.Dataset.from_dict(TABLE).to_parquet(tmp_path / "test.parquet")
    assert load_dataset(named(tmp_path / "test.parquet", max_segments=2)).sources == GERMAN[:2]


@pytest.mark.slow
def test_the_flores_style_example_config_runs(tmp_path):
    run_cli("run", ROOT / "configs" / "flores-style.yaml", "--output-dir", tmp_path, "--workers", "1", check=True)
    folder = tmp_path / "flores-style"
    assert (folder / "manifest.json").exists()
    scores = (folder / "scores.csv").read_text(encoding="utf-8")
    assert "flores-style-de-en,system-a,segment,BLEU," in scores
    assert json.loads((folder / "hf" / "flores-style-de-en.json").read_text())["rows_read"] == 8


def test_without_the_datasets_package_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` fails as if not installed
    with pytest.raises(UserError, match=r"^kind: hf needs the datasets package: pip install 'evalharness\[hf\]'$"):
        load_dataset(named(tmp_path / "test.parquet"))

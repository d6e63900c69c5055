"""The plots and report.html of a run: real runs through the CLI on WMT22 de-en, the PNGs, a self-contained and
escaped page, the segments where systems differ most, rebuilding from a results folder, and nothing written
when the report fails."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import lxml.html
import pandas as pd
import pytest
from evalharness.config import load_config
from evalharness.datasets.humanscores import load_human_scores
from evalharness.errors import UserError
from evalharness.plan import build_plan
from evalharness.reporting.report import differing_segments, key_metric, load, make_plots, render
from evalharness.textio import read_lines
from PIL import Image

from conftest import run_cli_here, wmt22_path

N = 8  # segments
TRICKY = 'Tom & Jerry <b>bold</b> "quoted" <script>alert(1)</script>'
TRICKY_LINE = 3  # the line of tricky.en that carries TRICKY
HUMAN_SYSTEMS = ["Online-B", "PROMT", "Online-W"]


def de_en(kind: str, name: str = "") -> Path:
    if kind == "source":
        return wmt22_path("sources", "generaltest2022.de-en.src.de")
    if kind == "reference":
        return wmt22_path("references", "generaltest2022.de-en.ref.A.en")
    if kind == "human":
        return wmt22_path("humaneval", "ad-sys-ranking-de-en-z-names.csv")
    return wmt22_path("system-outputs", f"generaltest2022.de-en.hyp.{name}.en")


def write_meta_config(folder: Path) -> Path:
    """A small meta-evaluation: 8 de-en segments, three WMT22 submissions with human scores, a system whose
    output has HTML-like text (no human score), the copy-source floor; BLEU, chrF and TER."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = read_lines(de_en("output", "Online-B"))
    lines[TRICKY_LINE - 1] = TRICKY
    (folder / "tricky.en").write_text("\n".join(lines) + "\n", encoding="utf-8")
    systems = "".join(f'  - {{name: {s}, engine: outputs, path: "{de_en("output", s)}"}}\n' for s in HUMAN_SYSTEMS)
    config = folder / "meta.yaml"
    config.write_text(
        f"""
run_name: meta
datasets:
  - name: de-en
    kind: parallel
    langpair: de-en
    source: "{de_en("source")}"
    references: ["{de_en("reference")}"]
    reference_names: [A]
    max_segments: {N}
    human_scores: "{de_en("human")}"
systems:
{systems}  - {{name: tricky, engine: outputs, path: tricky.en}}
  - {{name: copy-source, engine: identity}}
metrics: [bleu, chrf, ter]
statistics:
  baseline: copy-source
  bootstrap: 200
  all_pairs: true
""",
        encoding="utf-8",
    )
    return config


def write_plain_config(folder: Path) -> Path:
    """No human scores: a dataset with a single system, and one with a swept system and the floor."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "plain.yaml"
    config.write_text(
        f"""
run_name: plain
datasets:
  - {{name: solo, kind: parallel, langpair: de-en, source: "{de_en("source")}",
      references: ["{de_en("reference")}"], max_segments: 4}}
  - {{name: swept, kind: parallel, langpair: de-en, source: "{de_en("source")}",
      references: ["{de_en("reference")}"], max_segments: 6}}
systems:
  - {{name: only-copy, engine: identity, datasets: [solo]}}
  - {{name: mt, engine: outputs, path: "{de_en("output", "PROMT")}", datasets: [swept]}}
  - {{name: floor, engine: identity, datasets: [swept]}}
metrics: [bleu, chrf]
sweep:
  path: ["{de_en("output", "PROMT")}", "{de_en("output", "LT22")}"]
""",
        encoding="utf-8",
    )
    return config


def run_fresh(tmp: Path, write_config) -> Path:
    """Run the config `write_config(tmp / "cfg")` writes, with a cache of its own; its results folder."""
    config = write_config(tmp / "cfg")
    run_cli_here(
        "run", config, "--output-dir", tmp / "results", env={"EVALHARNESS_CACHE_DIR": str(tmp / "cache")}, check=True
    )
    return tmp / "results" / config.stem


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory) -> Path:
    return run_fresh(tmp_path_factory.mktemp("report-meta"), write_meta_config)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory) -> Path:
    return run_fresh(tmp_path_factory.mktemp("report-plain"), write_plain_config)


def page(run_dir: Path):
    return lxml.html.fromstring((run_dir / "report.html").read_text(encoding="utf-8"))


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def segment_sections(doc, dataset: str) -> list:
    """The segment boxes under a dataset's heading in the 'segments where systems differ most' part."""
    heading = doc.get_element_by_id("ds-" + dataset)
    boxes = []
    for element in heading.itersiblings():
        if element.tag in ("h2", "h3"):
            break
        if element.tag == "section":
            boxes.append(element)
    return boxes


# --------------------------------------------------------------------------------------------------- plots


def test_plots_are_pngs_of_a_sensible_size(meta_run):
    for name in ("plots/de-en.png", "plots/agreement-de-en.png"):
        image = png((meta_run / name).read_bytes())
        assert image.format == "PNG"
        assert 800 <= image.width <= 1000 and 250 <= image.height <= 1400, (name, image.size)
        assert len(image.convert("RGB").getcolors(1 << 20)) > 50  # a chart, not an empty canvas


def test_scatter_only_with_human_scores(meta_run, plain_run):
    assert sorted(p.name for p in (plain_run / "plots").iterdir()) == ["solo.png", "swept.png"]
    assert not (plain_run / "human_scores.csv").exists() and not (plain_run / "agreement.csv").exists()
    assert sorted(p.name for p in (meta_run / "plots").iterdir()) == ["agreement-de-en.png", "de-en.png"]


def test_human_scores_file_has_the_configured_scores(meta_run):
    human = pd.read_csv(meta_run / "human_scores.csv")
    assert list(human.columns) == ["dataset", "system", "human_score", "kind"]
    expected = load_human_scores(de_en("human"))
    assert dict(zip(human.system, human.human_score, strict=True)) == expected
    assert set(human.dataset) == {"de-en"} and set(human.kind) == {"z"}


def test_rebuilding_from_the_folder_gives_the_same_plots_and_page(meta_run, plain_run):
    for run_dir in (meta_run, plain_run):
        data = load(run_dir)
        plots = make_plots(data)
        for name, content in plots.items():
            assert (run_dir / name).read_bytes() == content, name  # deterministic PNGs
        assert render(data, plots) == (run_dir / "report.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ the page


def test_report_is_self_contained(meta_run):
    html = (meta_run / "report.html").read_text(encoding="utf-8")
    doc = lxml.html.fromstring(html)
    images = doc.xpath("//img")
    assert len(images) == 2  # the bars and the scatter
    for img in images:
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        assert png(base64.b64decode(src.split(",", 1)[1])).format == "PNG"
    assert not doc.xpath("//script")  # the hypothesis's <script> is text, not an element
    assert not doc.xpath("//link") and not doc.xpath("//iframe") and not doc.xpath("//object")
    for element in doc.iter():
        for attr in ("src", "href", "srcset", "poster", "data"):
            value = element.get(attr)
            if value is not None and attr != "src":
                assert value.startswith("#"), (element.tag, attr, value)  # in-page anchors only
    assert "http://" not in html and "https://" not in html and "url(" not in html and "@import" not in html


def test_report_shows_every_system_and_the_summary_scores(meta_run):
    doc = page(meta_run)
    text = doc.text_content()
    assert doc.xpath("//h1")[0].text_content() == "meta"
    for system in [*HUMAN_SYSTEMS, "tricky", "copy-source"]:
        assert system in text
    summary = pd.read_csv(meta_run / "summary.csv")
    table = doc.xpath("//table[contains(@class, 'summary')]")[0]
    cells = [td.text_content() for td in table.xpath(".//td")]
    for metric in ("BLEU", "chrF2", "TER"):
        for value in summary[metric]:
            assert any(cell.startswith(f"{value:.2f}") for cell in cells), (metric, value)
    # the best score (TER: the lowest) in bold, the CI next to it
    best_ter = summary["TER"].min()
    assert f"{best_ter:.2f}" in [b.text_content() for b in table.xpath(".//strong")]
    ci = summary.loc[summary["TER"].idxmin(), ["TER ci_low", "TER ci_high"]]
    assert f"[{ci.iloc[0]:.2f}, {ci.iloc[1]:.2f}]" in text
    manifest = json.loads((meta_run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sacrebleu"] in text and manifest["evalharness"] in text
    for signature in set(pd.read_csv(meta_run / "scores.csv")["signature"]):
        assert signature in text
    assert "Agreement with human judgments" in text
    agreement = pd.read_csv(meta_run / "agreement.csv")
    assert f"{agreement.set_index('metric').loc['chrF2', 'pearson']:.3f}" in text


def test_report_shows_rank_ranges_and_p_values_beside_each_score(meta_run):
    from evalharness.reporting.tables import format_p

    doc = page(meta_run)
    table = doc.xpath("//table[contains(@class, 'summary')]")[0]
    header = [th.text_content().split()[0] for th in table.xpath(".//thead//th")]
    summary = pd.read_csv(meta_run / "summary.csv").set_index("system")
    for tr in table.xpath(".//tbody/tr"):
        cells = tr.xpath("./td")
        system = cells[0].text  # the name, without its badges
        for metric in ("BLEU", "chrF2", "TER"):
            cell = cells[header.index(metric)]
            low, high = summary.loc[system, f"{metric} rank_low"], summary.loc[system, f"{metric} rank_high"]
            rank = f"rank {low}" if low == high else f"rank {low}–{high}"
            assert [s.text_content() for s in cell.xpath(".//span[@class='rank']")] == [rank]
            p = [s.text_content() for s in cell.xpath(".//span[@class='p']")]
            p_value = summary.loc[system, f"{metric} p_value"]
            assert p == ([] if pd.isna(p_value) else [f"p {format_p(p_value)}"])  # none for the baseline itself


def test_report_rows_are_best_first_by_the_first_metric(meta_run):
    table = page(meta_run).xpath("//table[contains(@class, 'summary')]")[0]
    systems = [tr.xpath("./td")[0].text for tr in table.xpath(".//tbody/tr")]  # the name, without its badge
    summary = pd.read_csv(meta_run / "summary.csv")
    assert systems == list(summary.sort_values("BLEU", ascending=False, kind="stable").system)


def test_hypothesis_text_is_escaped(meta_run):
    html = (meta_run / "report.html").read_text(encoding="utf-8")
    assert "<b>bold</b>" not in html and "<script>" not in html
    assert "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; &#34;quoted&#34;" in html
    doc = lxml.html.fromstring(html)
    assert TRICKY in doc.text_content()  # the browser shows the text as written


def test_segments_with_the_largest_spread_come_first(meta_run):
    records = [json.loads(line) for line in (meta_run / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    by_segment: dict[int, dict[str, float]] = {}
    for record in records:
        if record["system"] != "copy-source":  # the floor is shown, not compared
            by_segment.setdefault(record["segment"], {})[record["system"]] = record["scores"]["chrF2"]
    spread = {seg: max(v.values()) - min(v.values()) for seg, v in by_segment.items()}
    expected = sorted(spread, key=lambda seg: (-spread[seg], seg))[:5]
    boxes = segment_sections(page(meta_run), "de-en")
    shown = [int(box.xpath("./header/b")[0].text_content().split()[-1]) for box in boxes]
    assert shown == expected
    assert TRICKY_LINE in shown  # the nonsense hypothesis makes its segment differ a lot
    first = boxes[0]
    assert f"{spread[expected[0]]:.2f}" in first.xpath("./header")[0].text_content()
    best = first.xpath(".//div[contains(@class, 'hyp') and contains(@class, 'best')]//span[@class='system']")
    worst = first.xpath(".//div[contains(@class, 'hyp') and contains(@class, 'worst')]//span[@class='system']")
    scores = by_segment[expected[0]]
    assert [e.text_content() for e in best] == [s for s, v in scores.items() if v == max(scores.values())]
    assert [e.text_content() for e in worst] == [s for s, v in scores.items() if v == min(scores.values())]
    hyps = first.xpath(".//div[contains(@class, 'hyp')]")
    assert len(hyps) == 5  # every system's hypothesis, with its sentence scores
    assert all("BLEU" in h.text_content() and "TER" in h.text_content() for h in hyps)
    assert "Reference" in first.text_content() and "Source" in first.text_content()


def test_the_copy_source_floor_is_shown_but_never_compared(meta_run):
    assert json.loads((meta_run / "manifest.json").read_text())["floors"] == ["copy-source"]
    for box in segment_sections(page(meta_run), "de-en"):
        (floor,) = [h for h in box.xpath(".//div[contains(@class, 'hyp')]") if "copy-source" in h.text_content()]
        assert floor.xpath(".//span[@class='badge floor']")
        assert "best" not in floor.get("class") and "worst" not in floor.get("class")


def test_floors_are_marked_in_the_summary_and_analysis_tables(meta_run):
    doc = page(meta_run)
    for table in doc.xpath("//table[contains(@class, 'summary') or contains(@class, 'analysis')]"):
        for tr in table.xpath(".//tbody/tr"):
            first = tr.xpath("./td")[0]
            marked = bool(first.xpath(".//span[@class='badge floor']"))
            assert marked == first.text_content().startswith("copy-source"), first.text_content()


def test_analysis_tables_list_systems_best_first(meta_run):
    summary = pd.read_csv(meta_run / "summary.csv")
    segment = summary[summary.level == "segment"].sort_values("chrF2", ascending=False, kind="stable")
    tables = page(meta_run).xpath("//h2[@id='analysis']/following::table[contains(@class, 'analysis')]")
    by_length, by_frequency = tables[0], tables[1]
    for table in (by_length, by_frequency):
        rows = [tr.xpath("./td")[0].text for tr in table.xpath(".//tbody/tr")]
        assert rows == list(segment.system)


def test_single_system_and_swept_settings(plain_run):
    doc = page(plain_run)
    text = doc.text_content()
    assert not segment_sections(doc, "solo")
    solo = doc.get_element_by_id("ds-solo").getnext()
    assert "nothing to compare" in solo.text_content() and "only-copy" in solo.text_content()
    assert len(segment_sections(doc, "swept")) == 5
    assert "path=" in text and "hyp.PROMT.en" in text and "hyp.LT22.en" in text
    assert len(doc.xpath("//img")) == 2 and "Agreement with human judgments" not in text


# --------------------------------------------------------------------------------------- units


def test_segments_respect_a_lower_is_better_metric():
    records = [
        {
            "dataset": "d",
            "system": s,
            "settings": {},
            "level": "segment",
            "segment": seg,
            "source": "x",
            "references": ["y"],
            "hypothesis": s,
            "scores": {"TER": ter},
        }
        for seg, values in [(1, {"a": 10.0, "b": 20.0}), (2, {"a": 90.0, "b": 30.0})]
        for s, ter in values.items()
    ]
    result = differing_segments(records, {"TER": False})
    assert [s["number"] for s in result["segments"]] == [2, 1]
    marks = {h["system"]: h["mark"] for h in result["segments"][0]["hypotheses"]}
    assert marks == {"a": "worst", "b": "best"}  # lower TER is better


def chrf_record(dataset: str, system: str, seg: int, chrf: float, **extra) -> dict:
    """A segments.jsonl record of one system's segment whose hypothesis is the system's name, scored chrF2."""
    return {
        "dataset": dataset,
        "system": system,
        "settings": {},
        "level": "segment",
        "segment": seg,
        "source": "x",
        "references": ["x"],
        "hypothesis": system,
        **extra,
        "scores": {"chrF2": chrf},
    }


def test_an_invalid_round_trip_is_never_marked_best():
    values = {"copy": [100.0, 100.0], "mt-a": [40.0, 90.0], "mt-b": [60.0, 50.0]}
    records = [
        chrf_record("rt", system, seg + 1, v, pivot="p", pivot_lang="en")
        for system, vs in values.items()
        for seg, v in enumerate(vs)
    ]
    result = differing_segments(records, {"chrF2": True}, invalid={("copy", "")})
    # the spread is over the valid systems: segment 2 (90 vs 50) before segment 1 (60 vs 40)
    assert [s["number"] for s in result["segments"]] == [2, 1]
    marks = {h["system"]: (h["mark"], h["invalid"]) for h in result["segments"][0]["hypotheses"]}
    assert marks == {"copy": ("", True), "mt-a": ("best", False), "mt-b": ("worst", False)}
    # one valid system left: every hypothesis shown, nothing marked
    alone = differing_segments([r for r in records if r["system"] != "mt-b"], {"chrF2": True}, invalid={("copy", "")})
    assert [s["number"] for s in alone["segments"]] == [1, 2]
    assert {h["mark"] for s in alone["segments"] for h in s["hypotheses"]} == {""}


def test_a_floor_is_left_out_of_the_spread():
    values = {"copy": [0.0, 90.0], "mt-a": [40.0, 60.0], "mt-b": [80.0, 50.0]}
    records = [chrf_record("d", system, seg + 1, v) for system, vs in values.items() for seg, v in enumerate(vs)]
    result = differing_segments(records, {"chrF2": True}, floors={"copy"})
    # over mt-a and mt-b: segment 1 (80 vs 40) before segment 2 (60 vs 50); with the floor it would be 2, 1
    assert [s["number"] for s in result["segments"]] == [1, 2]
    marks = {h["system"]: (h["mark"], h["floor"]) for h in result["segments"][0]["hypotheses"]}
    assert marks == {"copy": ("", True), "mt-a": ("worst", False), "mt-b": ("best", False)}
    assert result["systems"] == 2 and result["floors"] == ["copy"]
    # one system besides the floor: nothing to compare
    alone = differing_segments([r for r in records if r["system"] != "mt-b"], {"chrF2": True}, floors={"copy"})
    assert alone["segments"] == [] and alone["single"] == "mt-a" and alone["floors"] == ["copy"]


def test_a_system_marked_floor_in_its_config_is_a_floor(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: d, kind: parallel, langpair: de-en, source: "{de_en("source")}",
      references: ["{de_en("reference")}"], max_segments: 2}}
systems:
  - {{name: lookup, engine: outputs, path: "{de_en("output", "PROMT")}", floor: true}}
  - {{name: mt, engine: outputs, path: "{de_en("output", "LT22")}"}}
  - {{name: copy, engine: identity}}
metrics: [bleu]
""",
        encoding="utf-8",
    )
    loaded = load_config(config)
    plan = build_plan(loaded.config, loaded.base_dir)
    assert {c.system.name: c.system.is_floor for c in plan.cells} == {"lookup": True, "mt": False, "copy": True}


def test_key_metric_prefers_chrf():
    assert key_metric(["BLEU", "chrF2++", "chrF2", "TER"]) == "chrF2"
    assert key_metric(["BLEU", "chrF2++"]) == "chrF2++"
    assert key_metric(["TER", "BLEU"]) == "TER"


# ----------------------------------------------------------------------------------- nothing written


def test_a_report_error_leaves_nothing_written(tmp_path, monkeypatch):
    import evalharness.runner as runner

    def fail(data):
        raise UserError("report: cannot draw")

    monkeypatch.setattr(runner, "report_files", fail)
    loaded = load_config(write_plain_config(tmp_path / "cfg"))
    plan = build_plan(loaded.config, loaded.base_dir)
    out = tmp_path / "results" / "plain"
    with pytest.raises(UserError, match="cannot draw"):
        runner.execute(loaded, plan, out, workers=1)
    assert not (tmp_path / "results").exists()


def test_the_page_declares_a_cjk_font_fallback():
    css = (Path(__file__).resolve().parent.parent / "evalharness" / "reporting" / "templates" / "report.css").read_text(
        "utf-8"
    )
    body = re.search(r"body\s*\{[^}]*?font:\s*([^;]*);", css)
    assert body is not None
    families = [f.strip().strip('"') for f in re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S).split(",")]
    cjk = [f for f in families if re.search(r"CJK|SC$|YaHei|PingFang|WenQuanYi", f)]
    assert cjk and families[-1] == "sans-serif"
    assert families.index(cjk[0]) < families.index("sans-serif")

"""report.html as a browser shows it: headless Chromium renders the page of a real run to a screenshot, and the
screenshot must show text and the embedded PNG plots (their bar colour). `make test` installs Chromium."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import lxml.html
import numpy as np
import pytest
from evalharness.reporting.plots import BAR_COLOR
from evalharness.reporting.report import load, render
from PIL import Image

from conftest import ROOT
from test_report import HUMAN_SYSTEMS, run_fresh, write_meta_config

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WIDTH, HEIGHT = 1280, 3000
TIMEOUT = 60


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser test needs Debian's chromium; `make test` installs it "
            f"(apt-get install -y chromium)"
        )
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=tmp_path,
            env={**os.environ, "HOME": str(tmp_path)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within {TIMEOUT} s: {' '.join(command)}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return run_fresh(tmp_path_factory.mktemp("browser"), write_meta_config) / "report.html"


def hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[k : k + 2], 16) for k in (1, 3, 5))


def test_screenshot_shows_text_and_the_plots(report, tmp_path):
    shot = tmp_path / "report.png"  # kept for inspection
    chromium(tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", report.as_uri())
    print(f"screenshot: {shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colors = image.getcolors(1 << 24)
    assert len(colors) > 500, f"only {len(colors)} colours: a blank page?"
    pixels = np.asarray(image, dtype=np.int16)
    dark = int((pixels < 70).all(axis=2).sum())
    assert dark > 5000, f"{dark} dark pixels: no text rendered?"
    bars = int((np.abs(pixels - np.array(hex_rgb(BAR_COLOR))) <= 6).all(axis=2).sum())
    assert bars > 5000, f"{bars} pixels of the bar colour {BAR_COLOR}: the embedded plots did not render"


def test_dom_after_parsing(report, tmp_path):
    proc = chromium(tmp_path, "--dump-dom", report.as_uri())
    doc = lxml.html.fromstring(proc.stdout)
    assert doc.xpath("//h1")[0].text_content() == "meta"
    assert len(doc.xpath("//img[starts-with(@src, 'data:image/png;base64,')]")) == 2
    assert not doc.xpath("//script")  # the tricky hypothesis stayed text
    text = doc.text_content()
    assert "Segments where systems differ most" in text
    for system in HUMAN_SYSTEMS:
        assert system in text
    # the rank ranges and p-values beside every score, as the browser lays them out (5 systems x 3 metrics)
    assert len(doc.xpath("//table[contains(@class, 'summary')]//span[@class='rank']")) == 15
    assert "rank 1" in text and "p <0.001" in text


# Measured in the browser after layout: every table's box either holds the whole table or scrolls it (nothing cut
# off by the page or hidden past its edge), and every plot is shown whole inside the page.
MEASURE = """<script>
addEventListener('load', () => {
  const page = document.querySelector('main').getBoundingClientRect();
  const out = [];
  for (const table of document.querySelectorAll('table')) {
    const box = table.parentElement;
    const overflow = getComputedStyle(box).overflowX;
    const fits = table.getBoundingClientRect().right <= page.right + 0.5;
    const scrolling = overflow === 'auto' || overflow === 'scroll';
    const scrolls = scrolling && box.getBoundingClientRect().right <= page.right + 0.5;
    out.push(`table ${fits || scrolls ? 'ok' : 'cut'} ${box.scrollWidth} ${box.clientWidth}`);
  }
  for (const img of document.querySelectorAll('img')) {
    const r = img.getBoundingClientRect();
    out.push(`img ${img.naturalWidth > 0 && r.right <= page.right + 0.5 ? 'ok' : 'cut'} ${r.width}`);
  }
  const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = out.join('\\n');
  document.body.appendChild(pre);
});
</script>"""


def measured(tmp_path: Path, html: str, width: int) -> list[str]:
    page = tmp_path / "measured.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = chromium(tmp_path, f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    found = lxml.html.fromstring(proc.stdout).xpath("//pre[@id='measured']")
    assert found, "the measuring script did not run"
    return found[0].text_content().splitlines()


def test_no_table_of_the_main_jobs_report_is_cut(tmp_path):
    """The committed main job's report, rebuilt from its folder by this code: the round-trip table is the widest."""
    html = render(load(ROOT / "results" / "seeds"))
    lines = measured(tmp_path, html, 1280)
    tables = [line for line in lines if line.startswith("table")]
    assert tables and all(" ok " in line for line in tables), tables
    assert any(int(line.split()[2]) > int(line.split()[3]) for line in tables)  # a wide one scrolls in its box


def test_on_a_narrow_window_tables_scroll_and_plots_shrink(report, tmp_path):
    lines = measured(tmp_path, report.read_text(encoding="utf-8"), 700)
    assert [line for line in lines if " cut " in line] == []
    assert sum(line.startswith("img") for line in lines) == 2

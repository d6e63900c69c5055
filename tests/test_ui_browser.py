"""`evalharness ui` in a real browser: the launcher starts the app on a WMT22 zh-en run (12 systems, references A
and A+B, BLEU, chrF and TER, every pair tested: configs/wmt22-zh-en-ui.yaml), and headless Chromium (Debian's,
driven by Playwright through its executable path; `make test` installs it) opens the leaderboard, compares two
systems, sorts their segments by a difference, sees the highlighted words and the p-value, and downloads a CSV.
What the page shows is checked against the folder's own files (summary.csv, pairwise.csv, segments.jsonl).

Every wait is for something on the page (Playwright's auto-waiting `expect`), never for a time; the server is
stopped by the module fixture's finalizer however the tests end. Each page's screenshot is written to the test's
tmp folder (the README's are made by scripts/ui_screenshots.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from evalharness.ui import launch
from playwright.sync_api import expect, sync_playwright

from conftest import ROOT, error_lines

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CONFIG = ROOT / "configs" / "wmt22-zh-en-ui.yaml"
DATASET = "wmt22-zh-en-refA"
SYSTEM_A, SYSTEM_B = "Online-Y", "Online-A"  # a close pair: p-values 0.08 to 0.2, not the minimum
SORT_METRIC = "chrF2"
WAIT_MS = 60_000  # the longest any element may take to appear (a busy machine): a bound, not a pause
# The app's pages by url path (evalharness/ui/app.py): the title, and what the page draws last on this run (the
# page is whole once it is there: a check for an error box before that would pass on a half-drawn page).
PAGES = {
    "leaderboard": ("Leaderboard", ".st-key-lb_latex"),
    "compare": ("Compare two systems", ".eh-diff"),
    "significance": ("Significance", ".st-key-sig_clusters_latex"),
    "sweeps": ("Sweeps", "text=No loaded run has a sweep"),
    "roundtrips": ("Round trips and documents", "text=no cleaning/ reports"),
    "score": ("Score files", ".st-key-sc_run"),
}
expect.set_options(timeout=WAIT_MS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The zh-en run, made once by the real command line (about 2.5 minutes on 2 busy cores, mostly scoring).
    EVALHARNESS_TEST_UI_RUN: a finished run of the same config to use instead, while working on the app."""
    if os.environ.get("EVALHARNESS_TEST_UI_RUN"):
        return Path(os.environ["EVALHARNESS_TEST_UI_RUN"])
    out = tmp_path_factory.mktemp("ui-run")
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(CONFIG), "--output-dir", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, "\n".join(error_lines(proc.stderr))[-3000:]
    return out / "wmt22-zh-en-ui"


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under the folder: relative path -> (size, mtime in ns)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def folder_before(run_dir) -> dict[str, tuple[int, int]]:
    """The results folder as it was before the app was started on it."""
    return files_of(run_dir)


@pytest.fixture(scope="module")
def app_url(run_dir, folder_before) -> Iterator[str]:
    with launch.serving([run_dir], port=free_port(), timeout=120) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser test needs Debian's chromium; `make test` installs it "
            f"(apt-get install -y chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


def open_page(page, url: str, name: str = "leaderboard"):
    """The app's page `name` (the leaderboard is the app's root), once drawn whole; no error box, no traceback."""
    page.goto(f"{url}/{'' if name == 'leaderboard' else name}")
    title, last = PAGES[name]
    expect(page.locator("h1", has_text=title)).to_be_visible()
    expect(page.locator(last).first).to_be_attached()
    expect(page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")).to_have_count(0)


def pick(page, key: str, option: str) -> None:
    """Choose `option` in the selectbox with this widget key (typed into its search box, as a user would)."""
    box = page.locator(f".st-key-{key}")
    box.locator("input").click()
    box.locator("input").fill(option)
    page.keyboard.press("Enter")
    expect(box.locator("input")).to_have_value(option)


# True once the first table on the page has a row `metric` whose column `column` shows `value` (4 decimals).
SHOWS = """([metric, column, value]) => {
  const table = document.querySelector("[data-testid='stDataFrame'] table[role='grid']");
  if (!table) return false;
  const header = [...table.querySelectorAll('thead th')].map(th => th.innerText);
  const at = header.indexOf(column);
  return [...table.querySelectorAll('tbody tr')].some(tr => {
    const cells = [...tr.querySelectorAll('td')].map(td => td.innerText);
    return cells[0] === metric && Math.abs(parseFloat(cells[at]) - value) < 1e-3;
  });
}"""
# True once the app has finished its run: no "Running..." status and nothing left over from the run before.
SETTLED = """() => !document.querySelector(
  "[data-testid='stStatusWidgetRunningIcon'], [data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']")"""


def grid_rows(table) -> list[dict[str, str]]:
    """The rows in view of a table (a `stDataFrame` locator), as header -> text: Streamlit draws tables on a
    canvas and keeps an accessible copy of the rows in view in the DOM."""
    header = table.locator("thead th").all_inner_texts()
    rows = table.locator("table[role='grid'] tbody tr")
    return [dict(zip(header, row.locator("td").all_inner_texts(), strict=False)) for row in rows.all()]


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def segments_of(run_dir: Path, dataset: str, system: str) -> dict[int, dict]:
    out = {}
    with open(run_dir / "segments.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["dataset"] == dataset and row["system"] == system and row["level"] == "segment":
                out[row["segment"]] = row
    return out


def pair_row(run_dir: Path, metric: str) -> dict:
    """pairwise.csv's test of SYSTEM_A against SYSTEM_B (in whichever order the run wrote the pair)."""
    for row in read_csv(run_dir / "pairwise.csv"):
        if (row["dataset"], row["level"], row["metric"]) == (DATASET, "segment", metric) and {
            row["system_a"],
            row["system_b"],
        } == {SYSTEM_A, SYSTEM_B}:
            return row
    raise AssertionError(f"pairwise.csv has no {metric} test of {SYSTEM_A} and {SYSTEM_B}")


def compare_page(page, url: str, run_dir: Path):
    """The compare page with SYSTEM_A and SYSTEM_B picked on DATASET, drawn for them: the corpus table shows B's
    BLEU, and the run that drew it has ended (the downloads below the table are B's too)."""
    open_page(page, url)
    page.get_by_role("link", name="Compare two systems").click()
    expect(page.locator("h1", has_text="Compare two systems")).to_be_visible()
    pick(page, "cmp_dataset", DATASET)
    pick(page, "cmp_a", SYSTEM_A)
    pick(page, "cmp_b", SYSTEM_B)
    test = pair_row(run_dir, "BLEU")
    bleu_b = float(test["score_a"] if test["system_a"] == SYSTEM_B else test["score_b"])
    page.wait_for_function(SHOWS, arg=["BLEU", "B", bleu_b])
    page.wait_for_function(SETTLED)
    return page


def test_the_leaderboard_shows_the_folders_scores_best_first(app_url, run_dir, page, tmp_path):
    open_page(page, app_url)
    table = page.locator("[data-testid='stDataFrame']").first
    expect(table.locator("td", has_text=SYSTEM_A).first).to_be_attached()  # in the canvas: not "visible"
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    rows = grid_rows(table)
    summary = {(r["dataset"], r["system"]): r for r in read_csv(run_dir / "summary.csv") if r["level"] == "segment"}
    shown = [r for r in rows if r.get("dataset") == DATASET]
    assert len(shown) >= 5, rows  # the rows in view
    best = sorted((r for (d, _), r in summary.items() if d == DATASET), key=lambda r: -float(r["BLEU"]))
    assert [r["system"] for r in shown] == [r["system"] for r in best[: len(shown)]]  # best BLEU first
    for row in shown:
        assert float(row["BLEU"]) == pytest.approx(float(summary[(DATASET, row["system"])]["BLEU"]), abs=1e-4)


def test_compare_shows_the_pairs_p_value_and_corpus_scores(app_url, run_dir, page, tmp_path):
    compare_page(page, app_url, run_dir)
    deltas = page.locator("[data-testid='stDataFrame']").first  # the corpus scores, above the segments
    expect(deltas.locator("td", has_text="BLEU").first).to_be_attached()
    rows = {row["metric"]: row for row in grid_rows(deltas)}
    for metric in ("BLEU", "chrF2", "TER"):
        test = pair_row(run_dir, metric)
        p_value = float(test["p_value"])
        assert float(rows[metric]["p_value"]) == pytest.approx(p_value, abs=1e-4)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_compare_sorts_segments_by_the_difference_and_highlights_words(app_url, run_dir, page, tmp_path):
    compare_page(page, app_url, run_dir)
    a, b = segments_of(run_dir, DATASET, SYSTEM_A), segments_of(run_dir, DATASET, SYSTEM_B)
    delta = {seg: a[seg]["scores"][SORT_METRIC] - b[seg]["scores"][SORT_METRIC] for seg in a}
    b_best = min(delta, key=lambda seg: (delta[seg], seg))  # where B beats A most (chrF: higher is better)
    pick(page, "cmp_metric", SORT_METRIC)
    page.locator(".st-key-cmp_order").get_by_text("B better first").click()
    first = page.locator(".eh-diff").first
    expect(first.locator("p").first).to_contain_text(f"#{b_best} {SORT_METRIC} Δ {delta[b_best]:.2f}")
    # the words B has and A has not are marked in B's line, and they are B's words
    inserted = first.locator("ins").all_inner_texts()
    deleted = first.locator("del").all_inner_texts()
    assert inserted or deleted, "no highlighted words in a segment where the two systems differ"
    for words in inserted:
        assert words in b[b_best]["hypothesis"]
    for words in deleted:
        assert words in a[b_best]["hypothesis"]
    page.screenshot(path=str(tmp_path / "compare-sorted.png"), full_page=True)


def test_the_downloaded_csv_holds_the_folders_numbers(app_url, run_dir, page, folder_before):
    compare_page(page, app_url, run_dir)
    with page.expect_download() as download:
        page.locator(".st-key-cmp_deltas_csv button").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = {row["metric"]: row for row in csv.DictReader(io.StringIO(text))}
    scores = {
        (r["system"], r["metric"]): float(r["score"])
        for r in read_csv(run_dir / "scores.csv")
        if r["dataset"] == DATASET and r["level"] == "segment"
    }
    assert set(rows) == {"BLEU", "chrF2", "TER"}
    for metric, row in rows.items():
        assert float(row["A"]) == scores[(SYSTEM_A, metric)]  # full precision, as in the folder
        assert float(row["B"]) == scores[(SYSTEM_B, metric)]
        assert float(row["p_value"]) == float(pair_row(run_dir, metric)["p_value"])
    assert files_of(run_dir) == folder_before  # read-only: browsing and downloading wrote nothing into the folder


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_draws_without_an_error(app_url, page, tmp_path, path):
    open_page(page, app_url, path)
    page.screenshot(path=str(tmp_path / f"{path}.png"), full_page=True)
    assert (tmp_path / f"{path}.png").stat().st_size > 10_000

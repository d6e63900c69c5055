#!/usr/bin/env python3
"""The README's screenshots of `evalharness ui` (docs/ui/*.png): every page of the app on the WMT22 zh-en run
(configs/wmt22-zh-en-ui.yaml), in headless Chromium (Debian's /usr/bin/chromium through Playwright), the compare
page with two systems picked and their segments sorted by the chrF difference.

    python scripts/ui_screenshots.py [--run results/wmt22-zh-en-ui] [--out docs/ui]

--run: a finished run of the config (default: run it into a temporary folder first, about 2.5 minutes on 2
cores). Every wait is for something on the page, not for a time.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "wmt22-zh-en-ui.yaml"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 120_000
PAGES = {  # url path -> the page's title, and what it draws last (the picture is taken once that is there)
    "": ("Leaderboard", ".st-key-lb_latex"),
    "compare": ("Compare two systems", ".eh-diff ins"),
    "significance": ("Significance", ".st-key-sig_clusters_latex"),
    "sweeps": ("Sweeps", "text=No loaded run has a sweep"),
    "roundtrips": ("Round trips and documents", "text=no cleaning/ reports"),
    "score": ("Score files", ".st-key-sc_table_latex"),
}
WMT22 = Path("data") / "wmt22"  # relative: the server runs in the repository (the paths show in the picture)
# Every table painted (its rows in the DOM), every download button labelled, no placeholder left.
DRAWN = """() => !document.querySelector("[data-testid='stSkeleton'], [data-testid='stSkeletonElement']")
  && [...document.querySelectorAll("[data-testid='stDataFrame']")].every(t => t.querySelector("tbody tr td"))
  && [...document.querySelectorAll("[data-testid='stDownloadButton']")].every(b => b.innerText.trim().length > 0)"""
SETTLED = """() => !document.querySelector(
  "[data-testid='stStatusWidgetRunningIcon'], [data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']")"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def the_run(given: Path | None, scratch: Path) -> Path:
    if given is not None:
        return given
    print(f"running {CONFIG.name} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(CONFIG), "--output-dir", str(scratch)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return scratch / "wmt22-zh-en-ui"


def pick(page, key: str, option: str) -> None:
    from playwright.sync_api import expect

    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    page.keyboard.press("Enter")
    expect(box).to_have_value(option)
    page.wait_for_function(SETTLED)


def compare(page) -> None:
    """Two systems, their segments sorted by the chrF difference, B's gains first."""
    pick(page, "cmp_dataset", "wmt22-zh-en-refA")
    pick(page, "cmp_a", "JDExploreAcademy")
    pick(page, "cmp_b", "Online-W")
    pick(page, "cmp_metric", "chrF2")
    page.locator(".st-key-cmp_order").get_by_text("B better first").click()


def score(page) -> None:
    """Two WMT22 zh-en submissions scored against reference A, as `evalharness score` would."""
    hyps = WMT22 / "system-outputs"
    systems = ("JDExploreAcademy", "Online-W")
    page.locator(".st-key-sc_ref_paths textarea").fill(str(WMT22 / "references" / "generaltest2022.zh-en.ref.A.en"))
    page.locator(".st-key-sc_hyp_paths textarea").fill(
        "\n".join(f"{name}={hyps / f'generaltest2022.zh-en.hyp.{name}.en'}" for name in systems)
    )
    page.locator(".st-key-sc_langpair input").fill("zh-en")
    page.locator(".st-key-sc_langpair input").press("Enter")
    page.wait_for_function(SETTLED)
    page.locator(".st-key-sc_run button").click()


ACTIONS = {"compare": compare, "score": score}


def shoot(page, url: str, path: str, out: Path) -> list[Path]:
    from playwright.sync_api import expect

    page.goto(f"{url}/{path}")
    title, last = PAGES[path]
    expect(page.locator("h1", has_text=title)).to_be_visible()
    if path in ACTIONS:
        ACTIONS[path](page)
    expect(page.locator(last).first).to_be_attached()
    page.wait_for_function(SETTLED)
    page.wait_for_function(DRAWN)
    name = path or "leaderboard"
    shots = [out / f"{name}.png"]
    page.screenshot(path=str(shots[0]))
    if path == "compare":  # and the highlighted words, further down
        page.locator(".eh-diff").first.scroll_into_view_if_needed()
        shots.append(out / "compare-words.png")
        page.screenshot(path=str(shots[1]))
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run of configs/wmt22-zh-en-ui.yaml (default: run it)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "ui", help="folder of the PNGs (default: docs/ui)")
    args = parser.parse_args()
    from evalharness.ui.launch import serving
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    run_given = args.run.resolve() if args.run else None
    os.chdir(REPO)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ui-screenshots-") as scratch:
        run = the_run(run_given, Path(scratch))
        with serving([run], port=free_port(), timeout=120) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(WAIT_MS)
                for path in PAGES:
                    for shot in shoot(page, url, path, args.out):
                        print(shot)
            finally:
                browser.close()


if __name__ == "__main__":
    main()

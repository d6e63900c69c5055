#!/usr/bin/env python3
"""Benchmark: how fast `evalharness ui` answers on the WMT22 zh-en run (configs/wmt22-zh-en-ui.yaml: 12 systems x
1875 segments = 22,500 scored hypothesis segments per reference set, references A and A+B, every pair tested).

The app is started by the launcher (`evalharness.ui.serving`) and driven by headless Chromium (Debian's
/usr/bin/chromium through Playwright's executable path), timed on the wall clock from the action to the moment
the page shows its result (a condition on the page's content, polled by Playwright):

- first render: from navigation to a drawn leaderboard (its table's rows in the DOM), on a server that has not
  read the folder yet (cold: the folder is read on this first visit) and again in a new browser session (warm:
  the folder is cached by the server);
- compare update: on the compare page (two systems picked), re-sorting the segments (the order A/B, the sort
  metric) and filtering them (a text search), each until the first segment or the count shown is the expected
  one (computed here from segments.jsonl) and the app's run has ended; the median of --repeat rounds.

There is no baseline to run in the same process (no other UI to compare with), so the seconds are printed as
measured, with the load average beside them: the machine's load shows in them. The last two lines are

    BENCH ui_first_render_seconds <cold first render> s goal <= 3
    BENCH ui_compare_update_seconds <median update> s goal <= 0.5

--run DIR: a finished run of the config (else it is run into a temporary folder first, about 2.5 minutes on 2
busy cores; not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wmt22data import REPO, fail

CONFIG = REPO / "configs" / "wmt22-zh-en-ui.yaml"
CHROMIUM = "/usr/bin/chromium"
DATASET = "wmt22-zh-en-refA"
SYSTEM_A, SYSTEM_B = "JDExploreAcademy", "Online-W"
SEARCH = "government"
GOAL_RENDER, GOAL_UPDATE = 3.0, 0.5
WAIT_MS = 120_000
SETTLED = """() => !document.querySelector(
  "[data-testid='stStatusWidgetRunningIcon'], [data-testid='stStatusWidgetRunningManIcon'], [data-stale='true']")"""
TABLE_DRAWN = "() => document.querySelectorAll(\"[data-testid='stDataFrame'] table[role='grid'] tbody tr\").length > 0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def the_run(given: Path | None, scratch: Path) -> Path:
    if given is not None:
        if not (given / "segments.jsonl").is_file():
            fail(f"{given}: not a finished run of {CONFIG.name} (no segments.jsonl)")
        return given
    print(f"running {CONFIG.name} (not timed) ...", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(CONFIG), "--output-dir", str(scratch)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        fail(f"the run failed:\n{proc.stderr[-3000:]}")
    return scratch / "wmt22-zh-en-ui"


def pair_rows(run: Path) -> list[dict]:
    """The pair's segments: number, texts, and every metric's A - B."""
    cells: dict[str, dict[int, dict]] = {SYSTEM_A: {}, SYSTEM_B: {}}
    with open(run / "segments.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["dataset"] == DATASET and row["level"] == "segment" and row["system"] in cells:
                cells[row["system"]][row["segment"]] = row
    a, b = cells[SYSTEM_A], cells[SYSTEM_B]
    return [
        {
            "segment": seg,
            "texts": [a[seg]["source"], *a[seg]["references"], a[seg]["hypothesis"], b[seg]["hypothesis"]],
            "delta": {m: a[seg]["scores"][m] - b[seg]["scores"][m] for m in a[seg]["scores"]},
        }
        for seg in a
        if seg in b
    ]


def first_segment(rows: list[dict], metric: str, a_better: bool, higher: bool) -> int:
    """The segment the compare page lists first: the largest gain of A (or of B) in the metric's direction."""
    sign = (1 if higher else -1) * (-1 if a_better else 1)
    return min(rows, key=lambda r: (sign * r["delta"][metric], r["segment"]))["segment"]


def pick(page, key: str, option: str) -> None:
    from playwright.sync_api import expect

    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    page.keyboard.press("Enter")
    expect(box).to_have_value(option)


def timed(page, action, shows: str, arg=None) -> float:
    """Seconds from the action to the page showing its result (`shows`, a JS condition polled on every animation
    frame); then, untimed, until the app's run has ended, so that the next action starts from a quiet page."""
    started = time.perf_counter()
    action()
    page.wait_for_function(shows, arg=arg, timeout=WAIT_MS, polling="raf")
    seconds = time.perf_counter() - started
    page.wait_for_function(SETTLED, timeout=WAIT_MS)
    return seconds


FIRST_IS = "(text) => { const p = document.querySelector('.eh-diff p'); return !!p && p.innerText.startsWith(text); }"
COUNT_IS = """(text) => [...document.querySelectorAll("[data-testid='stCaptionContainer']")]
  .some(c => c.innerText.trim() === text)"""


def render_times(browser, url: str) -> tuple[float, float]:
    seconds = []
    for _ in range(2):  # cold, then warm
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        seconds.append(timed(page, lambda page=page: page.goto(url), TABLE_DRAWN))
        context.close()
    return seconds[0], seconds[1]


def update_times(browser, url: str, rows: list[dict], repeat: int) -> dict[str, list[float]]:
    """Seconds of each update by kind: order (a radio click), metric (a selectbox: typing the name included),
    search (a text typed and Enter)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url + "/compare")
    expect(page.locator("h1", has_text="Compare two systems")).to_be_visible(timeout=WAIT_MS)
    pick(page, "cmp_dataset", DATASET)
    pick(page, "cmp_a", SYSTEM_A)
    pick(page, "cmp_b", SYSTEM_B)
    page.wait_for_function(SETTLED, timeout=WAIT_MS)
    n_found = sum(any(SEARCH in str(t).lower() for t in r["texts"]) for r in rows)
    order = page.locator(".st-key-cmp_order")
    search = page.locator(".st-key-cmp_search input")
    updates: dict[str, list[float]] = {"order": [], "metric": [], "search": []}
    for _ in range(repeat):
        for metric, higher in (("chrF2", True), ("TER", False), ("BLEU", True)):
            pick_time = timed(
                page,
                lambda metric=metric: pick(page, "cmp_metric", metric),
                FIRST_IS,
                f"#{first_segment(rows, metric, True, higher)} {metric}",
            )
            flip = timed(
                page,
                lambda: order.get_by_text("B better first").click(),
                FIRST_IS,
                f"#{first_segment(rows, metric, False, higher)} {metric}",
            )
            back = timed(
                page,
                lambda: order.get_by_text("A better first").click(),
                FIRST_IS,
                f"#{first_segment(rows, metric, True, higher)} {metric}",
            )
            updates["metric"].append(pick_time)
            updates["order"] += [flip, back]
        found = timed(
            page, lambda: (search.fill(SEARCH), search.press("Enter")), COUNT_IS, f"{n_found} of {len(rows)} segments"
        )
        cleared = timed(
            page, lambda: (search.fill(""), search.press("Enter")), COUNT_IS, f"{len(rows)} of {len(rows)} segments"
        )
        updates["search"] += [found, cleared]
    context.close()
    return updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run of configs/wmt22-zh-en-ui.yaml (default: run it)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of compare-page updates (default: 3)")
    args = parser.parse_args()
    from evalharness.ui.launch import serving
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-ui-") as scratch:
        run = the_run(args.run, Path(scratch))
        rows = pair_rows(run)
        with serving([run], port=free_port(), timeout=120) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                cold, warm = render_times(browser, url)
                updates = update_times(browser, url, rows, args.repeat)
            finally:
                browser.close()
    every = [seconds for kind in updates.values() for seconds in kind]
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    median = statistics.median(every)
    print(f"segments: {len(rows)} per system on {DATASET}; compare {SYSTEM_A} vs {SYSTEM_B}")
    print(f"first render (cold: the folder read on this visit): {cold:.2f} s")
    print(f"first render (warm: a new session, folder cached):  {warm:.2f} s")
    for kind, seconds in updates.items():
        print(f"compare update by {kind:<6}: median {statistics.median(seconds):.3f} s of {len(seconds)}")
    print(f"compare updates, all {len(every)}: median {median:.3f} s, min {min(every):.3f} s, max {max(every):.3f} s")
    print(f"BENCH ui_first_render_seconds {cold:.2f} s goal <= {GOAL_RENDER:g}")
    print(f"BENCH ui_compare_update_seconds {median:.3f} s goal <= {GOAL_UPDATE:g}")


if __name__ == "__main__":
    main()

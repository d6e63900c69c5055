#!/usr/bin/env python3
"""Benchmark: loading one long single-line document pair (cleaning, sentence splitting, alignment).

A German document of --kb kilobytes (default 400) on one line is built by joining WMT22 de-en source lines with
spaces, in file order and repeated from the start when the test set runs out; its English side joins the same
lines of reference A. Both are written to a temporary folder and loaded as a `documents` dataset exactly as a
config would (evalharness.datasets.documents.load_documents: boilerplate cleaning, pysbd sentence splitting in
windows, the banded Gale & Church + anchors alignment), timed on the wall clock (the minimum of --repeat runs).

Measured in the same run, as baselines:
  - the same load on one eighth of the text, times 8: what a linear-time pipeline would take (the ratio says
    how far from linear the whole is; the quadratic search of before took 262 s on 390 KB);
  - pysbd alone on both texts (windowed as the loader does): the floor of a pipeline that uses it to split.
The alignment is checked as well: most links must be 1-1 (the lines are translations of each other), or the
benchmark fails. The last line is

    BENCH long_document_seconds <seconds for --kb KB> s goal <= 10

Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evalharness.datasets.documents import DocumentsConfig, load_documents
from evalharness.documents.split import split_sentences

from wmt22data import fail, wmt22_file

GOAL_SECONDS = 10.0
MIN_ONE_TO_ONE = 0.9  # share of links that must be 1-1 on these line-parallel texts


def build(kb: int) -> tuple[str, str]:
    """A German text of at least `kb` KB (UTF-8) on one line and its English side, from parallel WMT22 lines."""
    src = wmt22_file("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()
    ref = wmt22_file("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    if len(src) != len(ref):
        fail(f"WMT22 de-en source and reference A differ in length ({len(src)} vs {len(ref)})")
    german, english, size, k = [], [], 0, 0
    while size < kb * 1000:
        german.append(src[k % len(src)])
        english.append(ref[k % len(ref)])
        size += len(src[k % len(src)].encode("utf-8")) + 1
        k += 1
    return " ".join(german), " ".join(english)


def load(folder: Path, german: str, english: str):
    (folder / "doc.de").write_text(german + "\n", encoding="utf-8")
    (folder / "doc.en").write_text(english + "\n", encoding="utf-8")
    cfg = DocumentsConfig(
        name="long", kind="documents", langpair="de-en", source=folder / "doc.de", reference=folder / "doc.en"
    )
    return load_documents(cfg)


def timed(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=int, default=400, help="size of the German document in KB (default 400)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest counts")
    args = parser.parse_args()

    german, english = build(args.kb)
    eighth_de, eighth_en = build(args.kb // 8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds, dataset = timed(args.repeat, lambda: load(folder, german, english))
        eighth, _ = timed(args.repeat, lambda: load(folder, eighth_de, eighth_en))
    pysbd_seconds, _ = timed(args.repeat, lambda: (split_sentences([german], "de"), split_sentences([english], "en")))

    links = len(dataset.groups) + dataset.unaligned_sources + dataset.unaligned_references
    one_to_one = sum(1 for group, refs in zip(dataset.groups, dataset.references[0], strict=True) if len(group) == 1)
    share = one_to_one / max(1, links)
    print(
        f"document: {len(german.encode('utf-8')) / 1000:.0f} KB German, {len(english.encode('utf-8')) / 1000:.0f} KB"
        f" English, one line each; {len(dataset.sources)} German sentences"
    )
    print(
        f"links: {links} ({share:.1%} with one German sentence and a reference, {dataset.unaligned_sources}"
        f" German and {dataset.unaligned_references} English sentences unaligned)"
    )
    print(
        f"load (clean + split + align): {seconds:.2f} s; one eighth of the text: {eighth:.2f} s"
        f" (x8 = {8 * eighth:.2f} s, ratio {seconds / (8 * eighth):.2f} to linear)"
    )
    print(f"pysbd alone on both texts: {pysbd_seconds:.2f} s ({pysbd_seconds / seconds:.0%} of the load)")
    if share < MIN_ONE_TO_ONE:
        fail(f"only {share:.1%} of the links are 1-1 (expected >= {MIN_ONE_TO_ONE:.0%}): the alignment is wrong")
    print(f"BENCH long_document_seconds {seconds:.2f} s goal <= {GOAL_SECONDS:g}")


if __name__ == "__main__":
    main()

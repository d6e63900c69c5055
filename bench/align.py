#!/usr/bin/env python3
"""Benchmark: the sentence aligner on WMT22 de-en pseudo-documents with known, seeded perturbations.

The WMT22 de-en source and reference A are parallel line by line. Consecutive lines are joined into
--docs pseudo-documents of --lines lines each (in file order, nothing shuffled); each document is then
perturbed with a seeded random generator: a few sentences are dropped on one side (the other side's sentence
becomes a 0-1 or 1-0 link) and some adjacent pairs are merged into one sentence on one side (a 1-2 or 2-1
link). No two perturbations touch neighbouring lines, so the true links are unambiguous.

The aligners run in the same process on the same documents: the anchored aligner (the default `AlignConfig`),
the same with anchors off (`anchor_weight=0`: length-only Gale & Church, the baseline), and length-only with
Gale & Church's original 1-0/0-1 prior of 0.0099 and no headline handling ("GC 1993"). Reported, micro-averaged
over all documents:
  - link precision/recall/F1: a link is the pair (source_ids, reference_ids) and must match exactly;
  - pair precision/recall/F1: the sentence pairs (i, j) a link implies (every source id with every reference
    id; a 1-0 link gives (i, None), a 0-1 link (None, j));
  - recall per link type (1-1, 1-0, 0-1, 2-1, 1-2).
The last line is

    BENCH align_f1 <link F1 of the anchored aligner> f1 goal >= 0.9

Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from evalharness.documents.align import AlignConfig, align

from wmt22data import fail, wmt22_file

LinkKey = tuple[tuple[int, ...], tuple[int, ...]]


def read_pair() -> tuple[list[str], list[str]]:
    src = wmt22_file("sources", "generaltest2022.de-en.src.de")
    ref = wmt22_file("references", "generaltest2022.de-en.ref.A.en")
    src_lines = src.read_text(encoding="utf-8").splitlines()
    ref_lines = ref.read_text(encoding="utf-8").splitlines()
    if len(src_lines) != len(ref_lines):
        fail(f"{src} and {ref} differ in length ({len(src_lines)} vs {len(ref_lines)})")
    return src_lines, ref_lines


def perturb(
    src: list[str], ref: list[str], rng: random.Random, drops: int, merges: int
) -> tuple[list[str], list[str], list[LinkKey]]:
    """Drop `drops` sentences and merge `merges` adjacent pairs (each on a random side); return the true links."""
    n = len(src)
    ops: dict[int, str] = {}
    taken: set[int] = set()
    wanted = ["drop"] * drops + ["merge"] * merges
    rng.shuffle(wanted)
    for kind in wanted:
        width = 2 if kind == "merge" else 1
        free = [i for i in range(n - width + 1) if not taken & set(range(i - 1, i + width + 1))]
        if not free:
            break
        i = rng.choice(free)
        ops[i] = f"{kind}_{rng.choice(['src', 'ref'])}"
        taken.update(range(i, i + width))

    new_src: list[str] = []
    new_ref: list[str] = []
    links: list[LinkKey] = []
    i = 0
    while i < n:
        op = ops.get(i, "keep")
        a, b = len(new_src), len(new_ref)
        if op == "keep":
            new_src.append(src[i])
            new_ref.append(ref[i])
            links.append(((a,), (b,)))
            i += 1
        elif op == "drop_src":
            new_ref.append(ref[i])
            links.append(((), (b,)))
            i += 1
        elif op == "drop_ref":
            new_src.append(src[i])
            links.append(((a,), ()))
            i += 1
        elif op == "merge_src":
            new_src.append(f"{src[i]} {src[i + 1]}")
            new_ref.extend(ref[i : i + 2])
            links.append(((a,), (b, b + 1)))
            i += 2
        else:  # merge_ref
            new_src.extend(src[i : i + 2])
            new_ref.append(f"{ref[i]} {ref[i + 1]}")
            links.append(((a, a + 1), (b,)))
            i += 2
    return new_src, new_ref, links


def pairs(links: list[LinkKey]) -> set[tuple[int | None, int | None]]:
    out: set[tuple[int | None, int | None]] = set()
    for s, r in links:
        if not s:
            out.update((None, j) for j in r)
        elif not r:
            out.update((i, None) for i in s)
        else:
            out.update((i, j) for i in s for j in r)
    return out


def prf(hits: int, predicted: int, gold: int) -> tuple[float, float, float]:
    p = hits / predicted if predicted else 0.0
    r = hits / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def shape(link: LinkKey) -> str:
    return f"{len(link[0])}-{len(link[1])}"


def evaluate(docs, config: AlignConfig) -> dict:
    link_counts = [0, 0, 0]  # hits, predicted, gold
    pair_counts = [0, 0, 0]
    type_gold: Counter = Counter()
    type_hit: Counter = Counter()
    start = time.perf_counter()
    for src, ref, gold in docs:
        predicted = [(link.source_ids, link.reference_ids) for link in align(src, ref, config)]
        gold_set, pred_set = set(gold), set(predicted)
        link_counts[0] += len(gold_set & pred_set)
        link_counts[1] += len(pred_set)
        link_counts[2] += len(gold_set)
        gold_pairs, pred_pairs = pairs(gold), pairs(predicted)
        pair_counts[0] += len(gold_pairs & pred_pairs)
        pair_counts[1] += len(pred_pairs)
        pair_counts[2] += len(gold_pairs)
        for link in gold:
            type_gold[shape(link)] += 1
            type_hit[shape(link)] += link in pred_set
    seconds = time.perf_counter() - start
    return {
        "link": prf(*link_counts),
        "pair": prf(*pair_counts),
        "seconds": seconds,
        "types": {t: (type_hit[t], type_gold[t]) for t in sorted(type_gold)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20, help="pseudo-documents (default 20)")
    parser.add_argument("--lines", type=int, default=25, help="lines per pseudo-document (default 25)")
    parser.add_argument("--drops", type=int, default=2, help="dropped sentences per document (default 2)")
    parser.add_argument("--merges", type=int, default=2, help="merged pairs per document (default 2)")
    parser.add_argument("--offset", type=int, default=0, help="first WMT22 line used (default 0)")
    parser.add_argument("--seed", type=int, default=2022, help="perturbation seed (default 2022)")
    args = parser.parse_args()

    src_lines, ref_lines = read_pair()
    if args.offset + args.docs * args.lines > len(src_lines):
        fail(f"{args.docs} x {args.lines} lines from line {args.offset} exceed the {len(src_lines)} lines")
    rng = random.Random(args.seed)
    docs = []
    for d in range(args.docs):
        lo = args.offset + d * args.lines
        docs.append(
            perturb(src_lines[lo : lo + args.lines], ref_lines[lo : lo + args.lines], rng, args.drops, args.merges)
        )
    gold_types = Counter(shape(link) for _, _, gold in docs for link in gold)
    print(
        f"WMT22 de-en, {args.docs} pseudo-documents x {args.lines} lines from line {args.offset}, seed {args.seed}; "
        f"true links: " + ", ".join(f"{t} {c}" for t, c in sorted(gold_types.items()))
    )

    runs = {
        "anchored": AlignConfig(),
        "length-only": AlignConfig(anchor_weight=0),
        "GC 1993": AlignConfig(anchor_weight=0, prior_1_0=0.0099, prior_0_1=0.0099, headline_prior=None),
    }
    results = {name: evaluate(docs, config) for name, config in runs.items()}
    types = sorted(gold_types)
    header = (
        f"{'aligner':<12} {'link P':>7} {'link R':>7} {'link F1':>7} {'pair P':>7} {'pair R':>7} "
        f"{'pair F1':>7}  " + " ".join(f"{'R ' + t:>7}" for t in types) + f" {'time':>7}"
    )
    print(header)
    for name, res in results.items():
        per_type = " ".join(f"{(res['types'][t][0] / res['types'][t][1]):>7.3f}" for t in types)
        print(
            f"{name:<12} "
            + " ".join(f"{v:>7.3f}" for v in (*res["link"], *res["pair"]))
            + f"  {per_type} {res['seconds']:>6.2f}s"
        )
    print(f"BENCH align_f1 {results['anchored']['link'][2]:.3f} f1 goal >= 0.9")


if __name__ == "__main__":
    main()

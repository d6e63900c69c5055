#!/usr/bin/env python3
"""Benchmark: the PERM-BOTH test of evalharness.statistics.meta (1000 resamples) on 15 systems x 2000 items of
synthetic segment scores (two metrics, one human score), one line per statistic and grouping, in CPU seconds
(`time.process_time`: robust to a loaded machine). The WMT23 statistics (Pearson, no grouping; acc_eq grouped by
item, its tie threshold calibrated again on every resample) and the others the meta-evaluation offers.

The last line is

    BENCH meta_perm_both <CPU seconds of the slowest WMT23 statistic> s goal <= 30

Usage: bench/meta_perm_both.py [--resamples N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from evalharness.statistics import meta

CASES = [  # (statistic, grouping, level, WMT23 statistic)
    ("pearson", "none", "segment", True),
    ("pearson", "item", "segment", False),
    ("kendall_b", "item", "segment", False),
    ("kendall_b", "none", "segment", False),
    ("acc_eq", "item", "segment", True),
    ("pearson", "none", "system", False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    human = np.round(rng.normal(size=(15, 2000)) * 3)  # MQM-like: many ties
    metric_a = human + rng.normal(size=human.shape)
    metric_b = human + 1.3 * rng.normal(size=human.shape)
    slowest = 0.0
    for statistic, grouping, level, wmt23 in CASES:
        start = time.process_time()
        p = meta.perm_both(
            metric_a, metric_b, human, meta.CorrelationStatistic(statistic, grouping, level), args.resamples, 1
        )
        seconds = time.process_time() - start
        print(f"{statistic:10} grouping={grouping:6} level={level:7} p={p:.3f} {seconds:6.2f} s CPU", flush=True)
        if wmt23:
            slowest = max(slowest, seconds)
    print(f"BENCH meta_perm_both {slowest:.2f} s goal <= 30")


if __name__ == "__main__":
    main()

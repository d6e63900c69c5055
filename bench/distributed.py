#!/usr/bin/env python3
"""Benchmark: the `ray` executor.

1. Scaling: a latency-bound engine (a `command` engine that sleeps --delay seconds per segment, so that this
   machine's two cores are not the limit) translates --segments WMT22 de-en sources in shards of --shard-size on a
   two-node Ray cluster started on this machine (`ray.cluster_utils.Cluster`, 4 logical CPUs per node), once with
   8 single-CPU actors (`replicas: 8`) and once with 1 (`replicas: 1`). Both times are the whole translate phase
   of `evalharness run --executor ray` (actors started, every shard sent and cached), each with an empty cache;
   the ratio is the 1-actor time over the 8-actor time (= the throughput ratio).
2. Overhead: the main job (`configs/seeds.yaml`) with `--executor ray` (Ray started here and shut down, the
   scoring pool on Ray) against the local executor, both with the translations cached (a first, untimed local run
   fills a private cache) and the score caches emptied before each timed run; the minimum of --repeat runs each.

The last line is

    BENCH ray_overhead_seeds <seconds> s goal <= 8

after `BENCH ray_scaling_8_actors <ratio> ratio goal >= 6`. Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wmt22data import fail, wmt22_file

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO, GOAL_SECONDS = 6.0, 8.0

SLEEPER = """\
import sys, time
sys.stdin.reconfigure(encoding="utf-8"); sys.stdout.reconfigure(encoding="utf-8")
delay = float(sys.argv[1])
for line in sys.stdin:
    time.sleep(delay)  # a remote model's latency: the CPU is idle
    print(line.rstrip("\\n").upper(), flush=True)
"""


def evalharness(args: list[str], cache: Path, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "EVALHARNESS_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"evalharness {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, proc.stderr


def seconds_of(text: str) -> float:
    """A phase line's time as progress.py writes it: '12.3 s', '4 min 05 s', '1 h 02 min'."""
    units = {"h": 3600.0, "min": 60.0, "s": 1.0}
    words = text.split()
    return sum(float(number) * units[unit] for number, unit in zip(words[::2], words[1::2], strict=True))


def phase_seconds(stderr: str, phase: str) -> float:
    for line in stderr.splitlines():
        if line.startswith(f"evalharness: {phase}:") and line.endswith(")"):
            return seconds_of(line.rsplit("(", 1)[1].rstrip(")"))
    fail(f"no '{phase}' phase line in the run's output:\n{stderr[-2000:]}")
    raise AssertionError


def scaling(work: Path, address: str, segments: int, delay: float, shard_size: int) -> float:
    src = wmt22_file("sources", "generaltest2022.de-en.src.de").read_text(encoding="utf-8").splitlines()
    ref = wmt22_file("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    if segments > len(src):
        fail(f"--segments {segments}: the test set has {len(src)}")
    (work / "src.de").write_text("\n".join(src[:segments]) + "\n", encoding="utf-8")
    (work / "ref.en").write_text("\n".join(ref[:segments]) + "\n", encoding="utf-8")
    (work / "sleeper.py").write_text(SLEEPER, encoding="utf-8")
    times = {}
    for replicas in (1, 8):
        config = work / f"replicas{replicas}.yaml"
        config.write_text(
            f"""
datasets:
  - {{name: wmt, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}}
systems:
  - {{name: sleeper, engine: command, command: [{sys.executable}, sleeper.py, '{delay}'], replicas: {replicas}}}
metrics: [chrf]
statistics: {{bootstrap: 0}}
executor: {{kind: ray, address: '{address}', shard_size: {shard_size}}}
""",
            encoding="utf-8",
        )
        cache = work / f"cache{replicas}"
        _, stderr = evalharness(["run", str(config), "--output-dir", str(work / "out")], cache, work)
        times[replicas] = phase_seconds(stderr, "translate")
        manifest = json.loads((work / "out" / config.stem / "manifest.json").read_text(encoding="utf-8"))
        executor = manifest["executor"]
        print(
            f"{replicas} actor(s): translate phase {times[replicas]:.1f} s, {segments / times[replicas]:.1f} "
            f"segments/s, {executor['shards']} shards on {len(executor['shards_by_node'])} node(s)",
            flush=True,
        )
    return times[1] / times[8]


def overhead(work: Path, repeat: int) -> float:
    cache = work / "seeds-cache"
    evalharness(["run", "configs/seeds.yaml", "--output-dir", str(work / "warm")], cache, ROOT)

    def timed(*extra: str) -> float:
        for name in ("scores.sqlite", "embeddings.sqlite"):
            for suffix in ("", "-wal", "-shm"):
                (cache / f"{name}{suffix}").unlink(missing_ok=True)
        args = ["run", "configs/seeds.yaml", "--output-dir", str(work / "timed"), "--force", *extra]
        return evalharness(args, cache, ROOT)[0]

    local, remote = [], []
    for _ in range(repeat):
        local.append(timed("--executor", "local"))
        remote.append(timed("--executor", "ray"))
    print(f"seeds job, translations cached: local {min(local):.1f} s, --executor ray {min(remote):.1f} s", flush=True)
    return min(remote) - min(local)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=1440)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per segment of the sleeping engine")
    parser.add_argument("--shard-size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4, "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=4)
            cluster.wait_for_nodes()
            ratio = scaling(work, cluster.address, args.segments, args.delay, args.shard_size)
        finally:
            cluster.shutdown()
        extra = overhead(work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"BENCH ray_scaling_8_actors {ratio:.2f} ratio goal >= {GOAL_RATIO:g}")
    print(f"BENCH ray_overhead_seeds {extra:.2f} s goal <= {GOAL_SECONDS:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

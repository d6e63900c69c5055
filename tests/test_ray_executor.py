"""The `ray` executor on a real Ray: the harness's own local start, a two-node cluster on this machine, a worker
killed mid-shard. The tables must equal the local executor's byte for byte."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evalharness import api
from evalharness.errors import UserError

from conftest import error_lines, run_cli, wmt22_path

ray = pytest.importorskip("ray")

N = 48  # WMT22 de-en segments
# A deterministic engine: looks each source up in a submitted system's output of the same test set. Optional
# behaviours for the fault tests, switched on by files beside it: `kill-once` (the first shard that sees it
# removes it and kills the process that runs the engine: the Ray worker), `kill-always`.
LOOKUP = """\
import os, signal, sys, time
sys.stdin.reconfigure(encoding="utf-8"); sys.stdout.reconfigure(encoding="utf-8")
here = os.path.dirname(os.path.abspath(__file__))
table = dict(zip(open(os.path.join(here, "src.de"), encoding="utf-8").read().splitlines(),
                 open(os.path.join(here, "hyp.en"), encoding="utf-8").read().splitlines()))
lines = sys.stdin.read().splitlines()
for k, line in enumerate(lines):
    if k == len(lines) // 2:  # in the middle of the shard
        for name in ("kill-once", "kill-always"):
            marker = os.path.join(here, name)
            try:
                os.unlink(marker) if name == "kill-once" else os.stat(marker)
            except FileNotFoundError:
                continue
            print(line, file=sys.stderr)
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(5)
            sys.exit(1)
    print(table.get(line, ""), flush=True)
"""


def lookup_run(folder: Path, executor: str = "{kind: local}", systems: str | None = None) -> Path:
    """folder/run.yaml: N WMT22 de-en segments, translated by the lookup engine, BLEU + chrF + TER, paired
    bootstrap against the identity floor."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in [
        ("src.de", wmt22_path("sources", "generaltest2022.de-en.src.de")),
        ("ref.en", wmt22_path("references", "generaltest2022.de-en.ref.A.en")),
        ("hyp.en", wmt22_path("system-outputs", "generaltest2022.de-en.hyp.JDExploreAcademy.en")),
    ]:
        lines = path.read_text(encoding="utf-8").splitlines()[:N]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "lookup.py").write_text(LOOKUP, encoding="utf-8")
    systems = systems or f"  - {{name: lookup, engine: command, command: [{sys.executable}, lookup.py]}}\n"
    config = folder / "run.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: wmt, kind: parallel, langpair: de-en, source: src.de, references: [ref.en]}}
systems:
{systems}  - {{name: copy, engine: identity}}
metrics: [bleu, chrf, ter]
statistics: {{bootstrap: 200, baseline: copy, test: bs, n_samples: 200}}
executor: {executor}
""",
        encoding="utf-8",
    )
    return config


def tables(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("scores.csv", "summary.csv")}


def run(config: Path, out: Path, cache: Path, monkeypatch, **overrides) -> dict:
    """One run of `config` into out/ with its own cache folder; its manifest."""
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(cache))
    items = [f"{key.replace('__', '.')}={value}" for key, value in overrides.items()]
    result = api.run(config, output_dir=out, overrides=items)
    return {
        **json.loads((result.out_dir / "manifest.json").read_text(encoding="utf-8")),
        **json.loads((result.out_dir / "run.json").read_text(encoding="utf-8")),  # translation counts and times
    }


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes on this machine (2 logical CPUs each), started once for the module."""
    from ray.cluster_utils import Cluster

    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    made.add_node(num_cpus=2)
    made.wait_for_nodes()
    yield made
    made.shutdown()


@pytest.mark.slow
def test_ray_started_here_gives_the_local_tables_byte_for_byte(tmp_path, monkeypatch):
    config = lookup_run(tmp_path / "cfg", "{kind: ray, shard_size: 8, num_cpus: 2}")
    local = run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local")
    remote = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch)
    assert tables(tmp_path / "ray" / "run") == tables(tmp_path / "local" / "run")
    assert local["executor"] == {"kind": "local"}
    assert remote["executor"]["kind"] == "ray" and remote["executor"]["address"] == "local"
    assert remote["executor"]["shards"] == N // 8
    assert remote["translation"]["model_calls"] == N
    assert remote["executor"]["cluster"] == {"nodes": 1, "cpus": 2, "gpus": 0}
    assert not ray.is_initialized()  # the Ray it started is shut down


@pytest.mark.slow
def test_without_an_address_a_new_instance_starts_even_beside_a_running_cluster(cluster, tmp_path, monkeypatch):
    """Ray's own default (address None) would join the last cluster started on this machine."""
    config = lookup_run(tmp_path / "cfg", "{kind: ray, num_cpus: 1}")
    manifest = run(config, tmp_path / "ray", tmp_path / "c", monkeypatch)
    assert manifest["executor"]["cluster"] == {"nodes": 1, "cpus": 1, "gpus": 0}


@pytest.mark.slow
def test_a_two_node_cluster_runs_shards_on_both_nodes_with_the_local_tables(cluster, tmp_path, monkeypatch):
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, shard_size: 4, address: '{cluster.address}'}}")
    run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local")
    manifest = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch)
    assert tables(tmp_path / "ray" / "run") == tables(tmp_path / "local" / "run")
    executor = manifest["executor"]
    assert executor["shards"] == N // 4
    assert len(executor["shards_by_node"]) == 2, executor  # both nodes translated
    assert executor["actors"] == {"lookup": 4}  # as many as the cluster's 4 CPUs allow at 1 CPU each
    cells = {c["system"]: c for c in manifest["translation"]["cells"]}
    assert cells["lookup"]["translated"] == N and cells["lookup"]["cached"] == 0


@pytest.mark.slow
def test_scoring_runs_as_ray_tasks_with_the_same_numbers(cluster, tmp_path, monkeypatch):
    """Enough work for scoring chunks (workers forced to 2 so that the pool is used) and AR resampling."""
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, address: '{cluster.address}'}}")
    opts = {"workers": 2, "statistics.test": "ar", "statistics.n_samples": 2000}
    monkeypatch.setattr("evalharness.metrics.scoring.PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr("evalharness.statistics.resampling.PARALLEL_ROWS", 1)
    run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local", **opts)
    manifest = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch, **opts)
    assert tables(tmp_path / "ray" / "run") == tables(tmp_path / "local" / "run")
    assert manifest["executor"]["scoring_tasks"] > 0


@pytest.mark.slow
def test_a_worker_killed_mid_shard_is_retried_and_the_tables_do_not_change(cluster, tmp_path, monkeypatch):
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, shard_size: 8, address: '{cluster.address}'}}")
    run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local")
    (tmp_path / "cfg" / "kill-once").touch()
    manifest = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch)
    assert not (tmp_path / "cfg" / "kill-once").exists()  # the engine did kill its worker
    assert tables(tmp_path / "ray" / "run") == tables(tmp_path / "local" / "run")
    retries = manifest["executor"]["retries"]
    assert len(retries) >= 1 and retries[0]["system"] == "lookup"
    assert "died" in retries[0]["cause"].lower() or "actor" in retries[0]["cause"].lower()


def cached_translations(cache: Path) -> int:
    with sqlite3.connect(cache / "translations.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]


@pytest.mark.slow
def test_a_shard_that_keeps_failing_stops_the_run_in_one_line_keeping_what_was_done(cluster, tmp_path, monkeypatch):
    """The engine kills its worker on every shard from the 4th on; after max_retries the run fails naming the
    system and the shard; a rerun (engine fixed) sends only what is missing."""
    folder = tmp_path / "cfg"
    config = lookup_run(folder, f"{{kind: ray, shard_size: 8, max_retries: 1, address: '{cluster.address}'}}")
    (folder / "kill-always").touch()
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(UserError, match=r"^system lookup: shard \d+ \(8 segments, de-en\) failed 2 times, last: "):
        api.run(config, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
    (folder / "kill-always").unlink()
    manifest = run(config, tmp_path / "out", tmp_path / "cache", monkeypatch)
    assert manifest["translation"]["model_calls"] == N  # nothing was done before: every shard was killed
    assert cached_translations(tmp_path / "cache") == N


@pytest.mark.slow
def test_an_interrupted_run_sends_only_the_missing_segments(cluster, tmp_path, monkeypatch):
    folder = tmp_path / "cfg"
    config = lookup_run(folder, f"{{kind: ray, shard_size: 8, address: '{cluster.address}'}}")
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    # Half the sources translated before (a run that was stopped): their shards are in the cache already.
    half = folder / "half.yaml"
    half.write_text(config.read_text().replace("src.de", "half.de").replace("ref.en", "halfref.en"))
    for name, new in (("src.de", "half.de"), ("ref.en", "halfref.en")):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()[: N // 2]
        (folder / new).write_text("\n".join(lines) + "\n", encoding="utf-8")
    run(half, tmp_path / "half", tmp_path / "cache", monkeypatch)
    manifest = run(config, tmp_path / "out", tmp_path / "cache", monkeypatch)
    cells = {c["system"]: c for c in manifest["translation"]["cells"]}
    assert cells["lookup"]["translated"] == N - N // 2 and cells["lookup"]["cached"] == N // 2
    assert manifest["executor"]["shards"] == (N - N // 2) // 8


@pytest.mark.slow
def test_an_engine_error_is_not_retried_and_reads_as_the_local_one(cluster, tmp_path, monkeypatch):
    systems = f"  - {{name: broken, engine: command, command: [{sys.executable}, -c, 'import sys; sys.exit(3)']}}\n"
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, address: '{cluster.address}'}}", systems)
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(UserError) as local:
        api.run(config, output_dir=tmp_path / "out", overrides=["executor.kind=local"])
    with pytest.raises(UserError) as remote:
        api.run(config, output_dir=tmp_path / "out")
    assert str(remote.value) == str(local.value)


@pytest.mark.slow
def test_more_gpus_per_actor_than_the_cluster_has_is_a_config_error(cluster, tmp_path, monkeypatch):
    systems = (
        f"  - {{name: lookup, engine: command, command: [{sys.executable}, lookup.py], resources: {{num_gpus: 1}}}}\n"
    )
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, address: '{cluster.address}'}}", systems)
    monkeypatch.setenv("EVALHARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(
        UserError, match=r"^systems\.lookup\.resources\.num_gpus: 1 per actor, but the Ray cluster has 0"
    ):
        api.run(config, output_dir=tmp_path / "out")


def test_an_address_that_does_not_answer_is_one_line_within_the_connect_timeout(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = lookup_run(tmp_path, "{kind: ray}")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(config), "--address", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,  # Ray alone retries such an address for minutes
    )
    assert time.monotonic() - started < 30
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert line.startswith(f"evalharness: error: executor.address: cannot reach Ray at 127.0.0.1:{port} within 10 s")


@pytest.mark.slow
def test_a_ray_run_prints_no_warning_of_rays_own(tmp_path):
    """Ray's notes (its token-authentication WARNING on every start) stay off the run's stderr."""
    config = lookup_run(tmp_path, "{kind: ray, num_cpus: 1}")
    proc = run_cli("run", str(config), "--output-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    own = ("evalharness: ", "results: ")  # the phase lines and the closing summary, as in a local run
    assert [line for line in proc.stderr.splitlines() if line and not line.startswith(own)] == []


@pytest.mark.slow
def test_under_ray_the_manifest_has_the_actors_runtimes_and_the_translation_seconds(tmp_path, monkeypatch):
    config = lookup_run(tmp_path / "cfg", "{kind: ray, shard_size: 8, num_cpus: 2}")
    manifest = run(config, tmp_path / "ray", tmp_path / "c", monkeypatch)
    cells = {c["system"]: c for c in manifest["translation"]["cells"]}
    assert cells["lookup"]["translated"] == N and cells["lookup"]["seconds"] > 0
    runtimes = manifest["executor"]["runtimes"]["lookup"]
    assert len(runtimes) == manifest["executor"]["actors"]["lookup"] == 2  # both actors got shards
    assert all(actor["pid"] != os.getpid() for actor in runtimes)  # reported by the actors, not the driver
    assert cells["lookup"]["runtime"] == {k: v for k, v in runtimes[0].items() if k not in ("node", "pid")}


def test_an_unknown_executor_kind_is_one_line_naming_the_key(tmp_path):
    config = lookup_run(tmp_path, "{kind: slurm}")
    proc = run_cli("run", str(config), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "executor.kind" in line and "run.yaml" in line


def test_executor_flags_of_run_override_the_config(tmp_path):
    config = lookup_run(tmp_path, "{kind: local}")
    proc = run_cli("run", str(config), "--dry-run", "--executor", "ray", "--address", "auto", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("run", str(config), "--dry-run", "--executor", "local", "--address", "auto", cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == ["evalharness: error: --address: only with --executor ray"]


def test_resources_and_replicas_do_not_change_the_translation_cache_key():
    from evalharness.systems.command import CommandConfig, CommandSystem

    plain = CommandSystem(CommandConfig.model_validate({"name": "a", "engine": "command", "command": ["cat"]}))
    placed = CommandSystem(
        CommandConfig.model_validate(
            {"name": "a", "engine": "command", "command": ["cat"], "replicas": 3, "resources": {"num_gpus": 1}}
        )
    )
    assert plain.fingerprint() == placed.fingerprint()


REVERSE = """\
import sys
sys.stdin.reconfigure(encoding="utf-8"); sys.stdout.reconfigure(encoding="utf-8")
for line in sys.stdin:
    print(line.rstrip("\\n")[::-1], flush=True)
"""


@pytest.mark.slow
def test_a_round_trips_way_back_goes_through_the_cluster_too(cluster, tmp_path, monkeypatch):
    """The way out is sent ahead; the way back (known only once the pivots are) goes shard by shard as the cell
    asks for it. An engine that reverses each line gives the text back."""
    lines = wmt22_path("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()[:20]
    (tmp_path / "text.en").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "reverse.py").write_text(REVERSE, encoding="utf-8")
    config = tmp_path / "rt.yaml"
    config.write_text(
        f"""
datasets:
  - {{name: rt, kind: roundtrip, path: text.en, lang: en, pivot: de}}
systems:
  - {{name: reverse, engine: command, command: [{sys.executable}, reverse.py]}}
metrics: [bleu, chrf]
executor: {{kind: ray, shard_size: 6, address: '{cluster.address}'}}
""",
        encoding="utf-8",
    )
    run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local")
    manifest = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch)
    assert tables(tmp_path / "ray" / "rt") == tables(tmp_path / "local" / "rt")
    assert manifest["executor"]["shards"] == 2 * 4  # 20 segments in shards of 6, there and back
    (cell,) = manifest["translation"]["cells"]
    assert cell["translated"] == 40 and cell["cached"] == 0


@pytest.mark.slow
def test_gemma_on_a_two_node_cluster_gives_the_local_tables(cluster, tmp_path, monkeypatch):
    """The shipped default model in Ray actors (one per node, each loading it once) on a few segments."""
    systems = "  - {name: gemma, engine: gemma-270m, replicas: 2}\n"
    config = lookup_run(tmp_path / "cfg", f"{{kind: ray, shard_size: 2, address: '{cluster.address}'}}", systems)
    config.write_text(config.read_text(encoding="utf-8").replace("src.de", "few.de").replace("ref.en", "few.en"))
    for name, new in (("src.de", "few.de"), ("ref.en", "few.en")):
        few = (tmp_path / "cfg" / name).read_text(encoding="utf-8").splitlines()[:8]
        (tmp_path / "cfg" / new).write_text("\n".join(few) + "\n", encoding="utf-8")
    run(config, tmp_path / "local", tmp_path / "c1", monkeypatch, executor__kind="local")
    manifest = run(config, tmp_path / "ray", tmp_path / "c2", monkeypatch)
    assert tables(tmp_path / "ray" / "run") == tables(tmp_path / "local" / "run")
    assert manifest["executor"]["actors"] == {"gemma": 2}
    assert len(manifest["executor"]["shards_by_node"]) == 2

"""The `ray` executor: a run's translation and scoring on a Ray cluster, its caches and results on the driver.

Translation: before any cell runs, the driver looks every cell's first leg (its sources; a round trip's way
out) up in the translation cache and cuts the misses into shards of `shard_size` distinct segments. Each system
runs as actors that load its model once and translate shard after shard (`replicas` of them, or as many as the
cluster's CPUs / GPUs allow for its `resources`); the driver writes each shard's translations into the cache as it
returns and shows one bar over all shards. The cells then run as in a local run and find their translations in
the cache; what could not be sent ahead (a round trip's way back, a sampled decode that is never cached) goes
through the same actors as the cell asks for it. Workers see source segments only, never a dataset file.

Faults: an actor that dies mid-shard (its process killed, its node lost) is replaced and the shard sent again,
up to `max_retries` times per shard; then the run stops with one line naming the system, the shard and the cause.
Everything translated before stays in the cache. An error the engine raises itself (a bad model path) is not
retried: it would fail again.

Scoring: the chunks of segment statistics and of bootstrap resampling run as Ray tasks (`workers.remote_pools`).

The manifest records what the actors report: each one's `runtime` (threads, libraries) and, per cell, the
seconds the cluster spent translating what was sent ahead (wall time, shared among a system's cells by segments).
A cluster address that does not answer within `connect_timeout` is one line, before Ray is asked to join it.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor as FuturesExecutor
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from evalharness.errors import UserError
from evalharness.executors.actor import Translator
from evalharness.executors.base import CellOutput, Executor, produce
from evalharness.executors.settings import ExecutorConfig
from evalharness.plan import Plan
from evalharness.progress import Progress
from evalharness.systems.base import System
from evalharness.systems.context import RunContext
from evalharness.systems.translation import TranslationSystem
from evalharness.workers import remote_pools

# Shards sent to one actor before its first returns: the next one waits in the actor's queue, so the actor never
# idles between shards. More would only pile work onto a slow actor.
IN_FLIGHT_PER_ACTOR = 2
# The module that logs Ray's token-authentication warning (ray 2.60).
TOKEN_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def _import_ray():
    """Ray, or one line naming the config key and the extra: Ray is an optional dependency (`evalharness[ray]`)."""
    try:
        import ray
    except ImportError as err:
        raise UserError(
            "executor.kind: ray needs the `ray` package, an optional extra: pip install 'evalharness[ray]' "
            "(make setup installs it)"
        ) from err
    return ray


def _apply(fn, *args):
    """A scoring chunk as a Ray task."""
    return fn(*args)


@dataclass
class Shard:
    """Distinct segments of one system's translation request, sent to one actor at a time."""

    system: TranslationSystem
    src: str
    tgt: str
    texts: list[str]
    number: int  # 1-based, across the request: what an error names
    first: int  # index of texts[0] in the request
    attempts: int = 0
    done: Callable[[list[str]], None] | None = None


@dataclass
class _Pool:
    """The live actors of one system (by config name: its sweep points share them and the loaded model)."""

    name: str
    actors: list = field(default_factory=list)


class _TaskPool(FuturesExecutor):
    """concurrent.futures' interface over Ray tasks, so scoring code written for a process pool runs on the
    cluster unchanged."""

    def __init__(self, remote, counter: Counter):
        self.remote, self.counter = remote, counter

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if kwargs:
            raise TypeError("Ray scoring tasks take positional arguments only")
        self.counter["scoring_tasks"] += 1
        return self.remote.remote(fn, *args).future()


class RayExecutor(Executor):
    def __init__(self, cfg: ExecutorConfig, log: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.log = log or (lambda message: None)
        self.ray = _import_ray()
        self._owns_connection = False
        self._pool: _Pool | None = None
        self.counter: Counter = Counter()
        self.by_node: Counter = Counter()
        self.retries: list[dict] = []
        self.actors: dict[str, int] = {}
        self.cluster: dict[str, float] = {}  # what the run connected to
        self.runtimes: dict[str, list[dict]] = {}  # system name -> each actor's node, pid and runtime
        self.cell_runtimes: dict[str, dict] = {}  # system config (JSON) -> the runtime its actors reported

    # ------------------------------------------------------------------------------------------- connection

    def connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():  # the caller's own connection (a notebook, a test's cluster): used, left open
            self.cluster = self._describe()
            return
        options = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        # Ray warns on every start that token authentication is on (or off), whatever RAY_AUTH_MODE the user
        # chose for the cluster: a note for whoever set the cluster up, not for each run's stderr.
        logging.getLogger(TOKEN_AUTH_LOGGER).setLevel(logging.ERROR)
        started = time.perf_counter()
        if self.cfg.address is not None:
            self._check_reachable(self.cfg.address)
        try:
            if self.cfg.address is None:
                # "local": a new instance; None would join the last cluster started on this machine, if any
                ray.init(address="local", num_cpus=self.cfg.num_cpus, **options)
            else:
                ray.init(address=self.cfg.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = self.cfg.address or "a new local instance"
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"executor.address: cannot start or reach Ray at {where}: {first}") from err
        self._owns_connection = True
        self.cluster = self._describe()
        where = "started here" if self.cfg.address is None else self.cfg.address
        nodes, cpus, gpus = self.cluster["nodes"], self.cluster["cpus"], self.cluster["gpus"]
        self.log(
            f"ray: {nodes:g} node(s), {cpus:g} CPUs, {gpus:g} GPUs ({where}, {time.perf_counter() - started:.1f} s)"
        )

    def _check_reachable(self, address: str) -> None:
        """A TCP connection to the cluster's head, within `connect_timeout`: ray.init would otherwise retry an
        address that does not answer for minutes, printing only its own warnings."""
        endpoint = gcs_endpoint(address)
        if endpoint is None:  # 'auto' (or no port): Ray finds the cluster itself
            return
        timeout = self.cfg.connect_timeout
        try:
            socket.create_connection(endpoint, timeout=timeout).close()
        except OSError as err:
            why = "no answer" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__).lower()
            raise UserError(
                f"executor.address: cannot reach Ray at {address} within {timeout:g} s ({why}); is the cluster "
                "running (ray start --head) and is this its head's address (host:port, or ray://host:10001)?"
            ) from err

    def _describe(self) -> dict[str, float]:
        resources = self.ray.cluster_resources()
        nodes = sum(1 for n in self.ray.nodes() if n.get("Alive"))
        return {"nodes": nodes, "cpus": resources.get("CPU", 0), "gpus": resources.get("GPU", 0)}

    def close(self) -> None:
        self._release()
        if self._owns_connection and self.ray.is_initialized():
            self.ray.shutdown()
        self._owns_connection = False

    # ------------------------------------------------------------------------------------------- the cells

    def translate_cells(self, plan: Plan, ctx: RunContext, progress: Progress) -> list[CellOutput]:
        self.connect()
        ahead = self._send_ahead(plan, ctx, progress)
        ctx.remote = self._stream
        try:
            outputs = [produce(cell, plan.datasets[cell.dataset], ctx) for cell in plan.cells]
        finally:
            ctx.remote = None
            self._release()
        # What was sent ahead reached the cells through the cache; the manifest counts it as translated.
        for index, (translated, positions, seconds) in ahead.items():
            outputs[index].stats.translated += translated
            outputs[index].stats.cached -= positions
            outputs[index].stats.seconds += seconds
            ctx.model_calls += translated
        for cell, output in zip(plan.cells, outputs, strict=True):
            runtime = self.cell_runtimes.get(_config_key(cell.system))
            if runtime is not None:
                output.stats.runtime = runtime
        return outputs

    def _send_ahead(self, plan: Plan, ctx: RunContext, progress: Progress) -> dict[int, tuple[int, int, float]]:
        """Every cell's first-leg cache misses, translated on the cluster and written to the cache. Returns, per
        cell index, (distinct segments translated, source positions they cover, seconds of translation)."""
        cache = ctx.translation_cache
        if cache is None:
            return {}
        requests: dict[tuple[str, str, str], tuple[TranslationSystem, list[str]]] = {}
        credit: dict[int, tuple[int, int]] = {}
        for index, cell in enumerate(plan.cells):
            system = cell.system
            if not isinstance(system, TranslationSystem) or not system.cacheable:
                continue
            sources, src, tgt = plan.datasets[cell.dataset].first_leg()
            key = (system.fingerprint(), src, tgt)
            misses = system.cache_misses(sources, src, tgt, ctx)
            if key in requests:  # the same system on the same language pair again (another dataset): sent once
                sent = set(requests[key][1])
                misses = [s for s in misses if s not in sent]
                requests[key][1].extend(misses)
            elif misses:
                requests[key] = (system, misses)
            if misses:
                wanted = set(misses)
                translated, positions = credit.get(index, (0, 0))
                credit[index] = (translated + len(misses), positions + sum(s in wanted for s in sources))
        by_system: dict[str, list[Shard]] = {}
        for (_, src, tgt), (system, texts) in requests.items():
            for shard in self._shards(system, src, tgt, texts):
                shard.done = lambda out, shard=shard: cache.put_many(
                    shard.system.cache_entries(shard.src, shard.tgt, list(zip(shard.texts, out, strict=True)))
                )
                by_system.setdefault(system.name, []).append(shard)
        if not by_system:
            return {}
        total = sum(len(s.texts) for shards in by_system.values() for s in shards)
        n_shards = sum(len(shards) for shards in by_system.values())
        seconds: dict[int, float] = {}
        with progress.bar(total, f"ray: {n_shards} shards", unit="seg") as bar:
            for name, shards in by_system.items():
                started = time.perf_counter()
                for _ in self._run(name, shards, bar.update):
                    pass
                # The system's wall time, shared among its cells by the segments each had translated.
                per_segment = (time.perf_counter() - started) / sum(len(s.texts) for s in shards)
                for index, (translated, _) in credit.items():
                    if plan.cells[index].system.name == name:
                        seconds[index] = translated * per_segment
        return {index: (*counts, seconds.get(index, 0.0)) for index, counts in credit.items()}

    def _stream(self, system, sources: list[str], src: str, tgt: str) -> Iterator[tuple[int, str]]:
        """A cell's remaining misses (ctx.remote): shards on the system's actors, (index, translation) out."""
        for shard, out in self._run(system.name, self._shards(system, src, tgt, sources), lambda n: None):
            for j, translation in enumerate(out):
                yield shard.first + j, translation

    def _shards(self, system: TranslationSystem, src: str, tgt: str, texts: list[str]) -> list[Shard]:
        size = self.cfg.shard_size
        return [
            Shard(system, src, tgt, texts[start : start + size], number=k + 1, first=start)
            for k, start in enumerate(range(0, len(texts), size))
        ]

    # ------------------------------------------------------------------------------------------- actors

    def _actors(self, system: TranslationSystem, wanted: int) -> _Pool:
        """The system's actors, started on first use; another system's are released first (their resources
        would otherwise keep this one's from being scheduled)."""
        if self._pool is not None and self._pool.name == system.name and len(self._pool.actors) >= wanted:
            return self._pool
        self._release()
        resources = system.cfg.resources
        num_cpus = resources.num_cpus if resources else 1
        num_gpus = resources.num_gpus if resources else 0
        cluster = self.ray.cluster_resources()
        if num_gpus > cluster.get("GPU", 0):
            raise UserError(
                f"systems.{system.name}.resources.num_gpus: {num_gpus:g} per actor, but the Ray cluster has "
                f"{cluster.get('GPU', 0):g} GPUs"
            )
        if num_cpus > max((n["Resources"].get("CPU", 0) for n in self.ray.nodes() if n.get("Alive")), default=0):
            raise UserError(
                f"systems.{system.name}.resources.num_cpus: {num_cpus:g} per actor, more than any node of the "
                f"Ray cluster has"
            )
        fit = [math.floor(cluster.get("CPU", 0) / num_cpus) if num_cpus else wanted]
        if num_gpus:
            fit.append(math.floor(cluster.get("GPU", 0) / num_gpus))
        replicas = min(wanted, system.cfg.replicas or max(1, min(fit)))
        self._pool = _Pool(system.name, [self._new_actor(system) for _ in range(replicas)])
        self.actors[system.name] = max(self.actors.get(system.name, 0), replicas)
        return self._pool

    def _new_actor(self, system: TranslationSystem):
        resources = system.cfg.resources
        options: dict = {"scheduling_strategy": "SPREAD", "max_restarts": 0, "max_task_retries": 0}
        options["num_cpus"] = resources.num_cpus if resources else 1
        if resources is not None and resources.num_gpus:
            options["num_gpus"] = resources.num_gpus
        if resources is not None and resources.memory:
            options["memory"] = resources.memory
        return self.ray.remote(Translator).options(**options).remote()

    def _note_runtime(self, system: TranslationSystem, where: dict) -> None:
        """What an actor reported about how it ran the system: kept per actor, and per system config for its
        cells."""
        runtime = where.get("runtime") or {}
        self.cell_runtimes.setdefault(_config_key(system), runtime)
        actor = {"node": where["node"][:12], "pid": where["pid"], **runtime}
        known = self.runtimes.setdefault(system.name, [])
        if actor not in known:
            known.append(actor)

    def _release(self) -> None:
        if self._pool is not None:
            for actor in self._pool.actors:
                self.ray.kill(actor)
            self._pool = None

    def _run(self, name: str, shards: list[Shard], advance: Callable[[int], None]) -> Iterator[tuple[Shard, list[str]]]:
        """Every shard through the system's actors, (shard, translations) as each returns. A shard whose actor
        died goes to a fresh actor, up to `max_retries` times."""
        ray = self.ray
        if not shards:
            return
        pool = self._actors(shards[0].system, len(shards))
        todo = list(reversed(shards))
        flying: dict = {}  # object ref -> (shard, actor slot, actor)
        load = [0] * len(pool.actors)
        try:
            while todo or flying:
                for slot in range(len(pool.actors)):
                    while todo and load[slot] < IN_FLIGHT_PER_ACTOR:
                        shard = todo.pop()
                        actor = pool.actors[slot]
                        flying[ref := actor.translate.remote(shard.system, shard.texts, shard.src, shard.tgt)] = (
                            shard,
                            slot,
                            actor,
                        )
                        load[slot] += 1
                ready, _ = ray.wait(list(flying), num_returns=1)
                for ref in ready:
                    shard, slot, actor = flying.pop(ref)
                    load[slot] -= 1
                    try:
                        out, where = ray.get(ref)
                    except ray.exceptions.RayTaskError as err:  # the engine's own error: it would fail again
                        if isinstance(err.cause, BaseException):
                            raise err.cause from None
                        raise
                    except ray.exceptions.RayError as err:  # the worker died (killed, out of memory, node lost)
                        shard.attempts += 1
                        why = _one_line(err)
                        self.retries.append(
                            {"system": name, "shard": shard.number, "segments": len(shard.texts), "cause": why}
                        )
                        if shard.attempts > self.cfg.max_retries:
                            raise UserError(
                                f"system {name}: shard {shard.number} ({len(shard.texts)} segments, "
                                f"{shard.src}-{shard.tgt}) failed {shard.attempts} times, last: {why}"
                            ) from None
                        self.log(f"ray: system {name}: shard {shard.number} lost ({why}); sending it again")
                        if pool.actors[slot] is actor:  # not yet replaced (its other shard may have failed first)
                            ray.kill(actor)
                            pool.actors[slot] = self._new_actor(shard.system)
                        todo.append(shard)
                        continue
                    self.counter["shards"] += 1
                    self.by_node[where["node"]] += 1
                    self._note_runtime(shard.system, where)
                    if shard.done is not None:
                        shard.done(out)
                    advance(len(shard.texts))
                    yield shard, out
        finally:
            for ref in flying:
                ray.cancel(ref, force=False)

    # ------------------------------------------------------------------------------------------- scoring

    @contextmanager
    def scoring(self) -> Iterator[None]:
        if not self.ray.is_initialized():
            self.connect()
        remote = self.ray.remote(num_cpus=1, max_retries=self.cfg.max_retries)(_apply)
        with remote_pools(lambda max_workers: _TaskPool(remote, self.counter)):
            yield

    def workers(self) -> int | None:
        """Scoring chunks for every CPU of the cluster, not only this machine's."""
        if not self.ray.is_initialized():
            return None
        return int(self.ray.cluster_resources().get("CPU", 0)) or None

    def manifest(self) -> dict:
        nodes = sorted(self.by_node)
        return {
            "kind": "ray",
            "address": self.cfg.address or "local",
            "cluster": self.cluster,
            "shard_size": self.cfg.shard_size,
            "max_retries": self.cfg.max_retries,
            "actors": self.actors,
            "runtimes": self.runtimes,  # per system, each actor's node, pid and runtime (threads, libraries)
            "shards": self.counter["shards"],
            # node ids shortened, in a stable order: which nodes did the work and how much
            "shards_by_node": {node[:12]: self.by_node[node] for node in nodes},
            "retries": self.retries,
            "scoring_tasks": self.counter["scoring_tasks"],
        }


def gcs_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of a cluster address (host:port, ray://host:port); None where Ray resolves it ('auto')."""
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _config_key(system: System) -> str:
    """A system's whole config as a key: sweep points of one system share its name, not their settings."""
    return json.dumps(system.cfg.model_dump(mode="json"), sort_keys=True, default=str)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    name = type(err).__name__
    return f"{name}: {text[:200]}" if text else name

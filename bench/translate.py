#!/usr/bin/env python3
"""Benchmark: translating the first 64 WMT22 de-en segments with the Gemma default, three ways, in one run.

(a) a plain loop: the same model and prompt, `generate` one segment at a time (greedy, stop at newline);
(b) `evalharness run` cold (empty translation cache; the converted GGUF weights are prepared beforehand, as
    after any first use on a machine), end to end as a subprocess;
(c) `evalharness run` again, translation cache warm, end to end.
Goals: (b) >= 3x (a) in segments/s; (c) < 3 s wall. The last line is a BENCH line for (b)/(a).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N = 64


def wmt22() -> Path:
    return Path(os.environ.get("WMT22_DIR", REPO.parent / "shared" / "wmt22"))


def write_config(folder: Path) -> Path:
    config = folder / "bench-translate.yaml"
    config.write_text(f"""
datasets:
  - name: wmt22-de-en-{N}
    kind: parallel
    langpair: de-en
    source: {wmt22()}/sources/generaltest2022.de-en.src.de
    references: [{wmt22()}/references/generaltest2022.de-en.ref.A.en]
    max_segments: {N}
systems:
  - {{name: gemma, engine: gemma-270m}}
metrics: [bleu, chrf]
""", encoding="utf-8")
    return config


def plain_loop(sources: list[str]) -> tuple[float, list[str]]:
    """Seconds for one `generate` per segment, model already loaded (load time not counted)."""
    import torch

    from evalharness.systems.context import RunContext
    from evalharness.systems.gemma import GemmaConfig, GemmaSystem

    system = GemmaSystem(GemmaConfig(name="gemma", engine="gemma-270m"))
    tokenizer, model, _ = system.load(RunContext())
    outputs = []
    start = time.perf_counter()
    for source in sources:
        prompt = system.prompt_text(tokenizer, source, "de", "en")
        enc = tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            generated = model.generate(**enc, max_new_tokens=256, do_sample=False, stop_strings=["\n"],
                                       tokenizer=tokenizer, pad_token_id=tokenizer.pad_token_id)
        outputs.append(system.cfg.prompt.cut(tokenizer.decode(generated[0, enc["input_ids"].shape[1]:],
                                                              skip_special_tokens=True)))
    return time.perf_counter() - start, outputs


def timed_run(config: Path, out: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evalharness", "run", str(config), "--output-dir", str(out)],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: evalharness run failed:\n{proc.stderr}")
    return elapsed


def main() -> int:
    from evalharness.cache import model_dir
    from evalharness.systems.gemma import gemma_gguf
    from evalharness.systems.hf_causal import converted_gguf
    from evalharness.systems.torchutil import pick_dtype
    from evalharness.textio import read_lines

    converted_gguf(gemma_gguf(), pick_dtype("auto", "cpu"))  # one-time conversion, outside every timing
    sources = read_lines(wmt22() / "sources" / "generaltest2022.de-en.src.de")[:N]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = write_config(tmp)
        # A private translation and score cache (cold), sharing only the converted model folder.
        env = {**os.environ, "EVALHARNESS_MODEL_DIR": str(model_dir()), "EVALHARNESS_CACHE_DIR": str(tmp / "cache")}

        t_plain, plain_outputs = plain_loop(sources)
        t_cold = timed_run(config, tmp / "results", env)
        t_warm = timed_run(config, tmp / "results", env)
        manifest = json.loads((tmp / "results" / "bench-translate" / "manifest.json").read_text())
        summary = (tmp / "results" / "bench-translate" / "summary.csv").read_text().splitlines()
        segments = [json.loads(line) for line in (tmp / "results" / "bench-translate" / "segments.jsonl").open()]
    same = sum(a == b["hypothesis"] for a, b in zip(plain_outputs, segments))
    print(f"segments: {N} (WMT22 de-en), Gemma 3 270M via transformers, greedy, stop at newline")
    print(f"(a) plain generate loop:       {t_plain:7.1f} s  {N / t_plain:5.2f} seg/s (model load not counted)")
    print(f"(b) evalharness run, cold:     {t_cold:7.1f} s  {N / t_cold:5.2f} seg/s (end to end, load included)")
    print(f"(c) evalharness run, warm:     {t_warm:7.1f} s  (model calls: {manifest['translation']['model_calls']})")
    print(f"identical outputs (a) vs (b):  {same}/{N}")
    print("scores of (b), reference A:    " + " | ".join(summary))
    print(f"(b)/(a) speed-up: {t_plain / t_cold:.2f}x (goal >= 3); (c) {t_warm:.2f} s (goal < 3)")
    print(f"BENCH translate_cold_vs_plain_loop {t_plain / t_cold:.2f} ratio goal >= 3")
    return 0


if __name__ == "__main__":
    sys.exit(main())

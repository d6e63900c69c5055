"""CTranslate2 against transformers `generate` on the same Marian model of real size (6+6 layers, d_model 512,
8 heads, FFN 2048, random weights, 8000-piece vocabulary trained on WMT22 lines), 2 threads each, the first 64
WMT22 de-en sources, float32 greedy, every segment decoded to exactly the same number of tokens (minimum =
maximum length), so the two do the same work whatever the random weights emit. Both batch 16 segments.

    .venv/bin/python bench/ctranslate2.py [--segments 64] [--tokens 48]

Ends with `BENCH ctranslate2_vs_transformers <ratio> ratio goal >= 3` (transformers seconds / CTranslate2 seconds,
both measured in this run; the conversion and model loads are not timed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from tiny_marian import build_marian  # noqa: E402
from wmt22data import wmt22_file  # noqa: E402

# This file is named like the package: with its folder first on the path, `import ctranslate2` would find itself.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

THREADS = 2
BATCH = 16


def lines(name: str, n: int | None = None) -> list[str]:
    return wmt22_file(*name.split("/")).read_text(encoding="utf-8").splitlines()[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=48, help="output tokens per segment (fixed)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    import ctranslate2

    torch.set_num_threads(THREADS)
    sources = lines("sources/generaltest2022.de-en.src.de", args.segments)
    train = lines("sources/generaltest2022.de-en.src.de") + lines("references/generaltest2022.de-en.ref.A.en")
    with tempfile.TemporaryDirectory() as tmp:
        hf = build_marian(
            Path(tmp) / "marian", train, d_model=512, layers=6, heads=8, ffn=2048, vocab_size=8000, init_std=0.02
        )
        ctranslate2.converters.TransformersConverter(str(hf)).convert(str(Path(tmp) / "ct2"))
        tokenizer = AutoTokenizer.from_pretrained(hf)
        model = AutoModelForSeq2SeqLM.from_pretrained(hf, dtype=torch.float32).eval()
        translator = ctranslate2.Translator(
            str(Path(tmp) / "ct2"), device="cpu", compute_type="float32", intra_threads=THREADS
        )

        started = time.perf_counter()
        hf_tokens = 0
        for start in range(0, len(sources), BATCH):
            enc = tokenizer(sources[start : start + BATCH], return_tensors="pt", padding=True)
            with torch.inference_mode():
                out = model.generate(
                    **enc, num_beams=1, do_sample=False, max_new_tokens=args.tokens, min_new_tokens=args.tokens
                )
            hf_tokens += (out.shape[1] - 1) * out.shape[0]  # minus the decoder start
        hf_seconds = time.perf_counter() - started

        tokens = [tokenizer.convert_ids_to_tokens(tokenizer(s).input_ids) for s in sources]
        started = time.perf_counter()
        results = translator.translate_batch(
            tokens,
            max_batch_size=BATCH,
            beam_size=1,
            max_decoding_length=args.tokens,
            min_decoding_length=args.tokens,
            return_end_token=True,
        )
        ct2_seconds = time.perf_counter() - started
        ct2_tokens = sum(len(r.hypotheses[0]) for r in results)

    print(f"transformers generate: {hf_seconds:.2f} s, {hf_tokens} tokens ({hf_tokens / hf_seconds:.0f} tok/s)")
    print(f"ctranslate2:           {ct2_seconds:.2f} s, {ct2_tokens} tokens ({ct2_tokens / ct2_seconds:.0f} tok/s)")
    print(f"BENCH ctranslate2_vs_transformers {hf_seconds / ct2_seconds:.2f} ratio goal >= 3")


if __name__ == "__main__":
    main()

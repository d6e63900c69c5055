#!/usr/bin/env python3
"""The CMake flags `make setup` compiles llama-cpp-python's llama.cpp with, chosen from this CPU's flags.

Why chosen here and not at run time: llama.cpp can build every x86 CPU variant as a loadable backend and pick the
best at run time (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS), but llama-cpp-python 0.3.36 never calls
`ggml_backend_load_all()`, so such a build loads no backend at all ("no backends are loaded";
abetlen/llama-cpp-python issue 2069, open). So the choice is made once, at set-up, on the machine that runs it:

- AVX-512 with VBMI, VNNI and BF16 (avx512f, avx512vbmi, avx512_vnni, avx512_bf16 in /proc/cpuinfo, and the
  AVX2/FMA/F16C under them): llama.cpp's AVX-512 kernels, and its AMX kernels OFF. With -march=native the AMX
  kernels crash in the first decode on this project's Xeons (llama.cpp issue 20824; AMX tile permission is
  requested for the main thread only), so the flags are listed one by one instead of GGML_NATIVE.
- anything else (older x86-64, other architectures): the portable build of before, -DGGML_NATIVE=OFF.

Usage: `llama_cmake_args.py [--cpuinfo FILE] [--describe]`: prints the flags (or, with --describe, one line that
says which build and why). Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PORTABLE = ["-DGGML_NATIVE=OFF"]
AVX512 = [
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_AVX512=ON",
    "-DGGML_AVX512_VBMI=ON",
    "-DGGML_AVX512_VNNI=ON",
    "-DGGML_AVX512_BF16=ON",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
]
# The kernel's names for what the AVX-512 build uses (the kernel spells VBMI "avx512vbmi", VNNI "avx512_vnni").
NEEDED = {"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni", "avx512_bf16"}


def cpu_flags(cpuinfo: str) -> set[str]:
    """The flags of the first processor in /proc/cpuinfo's text (x86: `flags`; elsewhere none match)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return {flag.replace("avx512_vbmi", "avx512vbmi") for flag in value.split()}
    return set()


def choose(cpuinfo: str) -> tuple[list[str], str]:
    """(the CMake flags, why) for a CPU described by /proc/cpuinfo's text."""
    missing = sorted(NEEDED - cpu_flags(cpuinfo))
    if not missing:
        return AVX512, "AVX-512 (VBMI, VNNI, BF16) build without AMX, for this CPU"
    return PORTABLE, f"portable build (AVX2, FMA, F16C): this CPU lacks {', '.join(missing[:4])}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpuinfo", default="/proc/cpuinfo", help="the CPU description read (default: %(default)s)")
    parser.add_argument("--describe", action="store_true", help="say which build and why instead of the flags")
    args = parser.parse_args()
    path = Path(args.cpuinfo)
    flags, why = choose(path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "")
    print(why if args.describe else " ".join(flags))
    return 0


if __name__ == "__main__":
    sys.exit(main())

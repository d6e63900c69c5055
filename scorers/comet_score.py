"""COMET (unbabel-comet) as an evalharness metric, through the JSON-lines protocol of docs/metric-protocol.md.

Run it with the COMET environment's python (`make comet-env` builds .venv-comet/; unbabel-comet 2.2.7 cannot share
evalharness's environment):

    .venv-comet/bin/python scorers/comet_score.py --model Unbabel/wmt22-comet-da < segments.jsonl

Reads `{"src", "mt", "ref", "refs"}` per line on stdin, writes one score per line on stdout (full precision), and
nothing else there. It scores the way `comet-score` 2.2.7 does (seed 1, the model in half precision, sentence
embeddings cached, length batching, batch size 16), so its numbers are comet-score's for one system's segments.
comet-score batches each system apart; lines of several systems share batches here, which in half precision can
round a score differently in its last bit.

`--model` is a checkpoint file (.../checkpoints/model.ckpt), a model folder holding checkpoints/model.ckpt and
hparams.yaml, or a Hugging Face name found in the local cache only: nothing is ever downloaded (HF_HUB_OFFLINE=1).
A model that is not there is one line on stderr saying what to download and where to put it, and exit status 2.
evalharness asks exactly that before a run (`--dry-run` included) with its check request (EVALHARNESS_CHECK=1):
the model and its encoder are looked up, stdin is not read, nothing is imported from COMET, exit status 0 or 2.

COMET takes one reference. With several (`refs`), the segment is scored against each (one comet-score run per
reference) and `--multi-ref` combines them: `mean` (default: every reference counts the same, and the score does
not grow with the number of references), `max` (the closest reference) or `first` (the others ignored).

torch, comet and huggingface_hub are imported only after the arguments and the model path are checked, so a
mistake there costs no import time and needs no COMET environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

PROG = "comet_score"


def fail(message: str) -> NoReturn:
    """One line on stderr (evalharness quotes the last one in its error), exit status 2."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", required=True, help="checkpoint file, model folder or Hugging Face name (cached)")
    parser.add_argument("--batch-size", type=int, default=16, help="segments per forward pass (comet-score: 16)")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs to use (0: CPU); more than 1 is not supported")
    parser.add_argument("--multi-ref", choices=["mean", "max", "first"], default="mean")
    parser.add_argument("--precision", choices=["half", "full"], default="half", help="half: as comet-score does")
    parser.add_argument("--seed", type=int, default=1, help="comet-score's seed (1)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.gpus not in (0, 1):
        parser.error("--gpus must be 0 or 1 (several GPUs make COMET start worker processes that write to stdout)")
    return args


def _looks_like_path(model: str) -> bool:
    """A Hugging Face name is NAME or ORG/NAME; anything else (./x, /x, a/b/c, x.ckpt) is meant as a path."""
    return model.endswith(".ckpt") or model.startswith((".", "/", "~")) or model.count("/") > 1


def local_checkpoint(model: str) -> Path | None:
    """The checkpoint file that `model` names as a path; None for a Hugging Face name."""
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        ckpt = path / "checkpoints" / "model.ckpt"
        if not ckpt.is_file():
            fail(f"{path} has no checkpoints/model.ckpt (a COMET model folder holds hparams.yaml and that file)")
        return ckpt
    if _looks_like_path(model):
        fail(f"COMET checkpoint {model} does not exist (a model.ckpt file, or the folder that holds checkpoints/)")
    return None


def _download_hint(name: str, cache: str, files: str = "") -> str:
    folder = "models--" + name.replace("/", "--")
    return (
        f"on a machine with internet run `hf download {name}{files}` (pip install huggingface_hub), then copy "
        f"{folder} from that machine's Hugging Face cache (~/.cache/huggingface/hub) into {cache}"
    )


def cached_checkpoint(name: str) -> Path:
    """The checkpoint of a Hugging Face model in the local cache, never downloaded."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = str(constants.HF_HUB_CACHE)
    try:
        folder = Path(snapshot_download(name, local_files_only=True))
    except LocalEntryNotFoundError:
        fail(
            f"COMET model {name} is not a file and not in the local Hugging Face cache; " + _download_hint(name, cache)
        )
    ckpt = folder / "checkpoints" / "model.ckpt"
    if not ckpt.is_file():
        fail(f"the cached {name} ({folder}) has no checkpoints/model.ckpt; " + _download_hint(name, cache))
    return ckpt


def check_encoder(ckpt: Path) -> None:
    """The encoder that hparams.yaml names (xlm-roberta-large for wmt22-comet-da) must be local too: COMET loads
    its tokenizer and config (not its weights) when it loads the checkpoint."""
    import yaml
    from huggingface_hub import constants, try_to_load_from_cache

    hparams = ckpt.parents[1] / "hparams.yaml"
    if not hparams.is_file():
        fail(f"{hparams} is missing (a COMET model folder holds hparams.yaml and checkpoints/model.ckpt)")
    encoder = str(yaml.safe_load(hparams.read_text(encoding="utf-8")).get("pretrained_model", ""))
    if not encoder or Path(encoder).is_dir():
        return
    if not isinstance(try_to_load_from_cache(encoder, "config.json"), str):
        cache = str(constants.HF_HUB_CACHE)
        fail(
            f"the encoder {encoder} that {hparams} names is not in the local Hugging Face cache; "
            + _download_hint(encoder, cache, " --include '*.json' '*.model'")
        )


def read_items(stream: Any) -> list[dict[str, Any]]:
    """The protocol's input lines, each checked: the line number of a malformed one is the message."""
    items = []
    for number, line in enumerate(stream, 1):
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("mt"), str):
                raise ValueError("no string 'mt'")
            refs = item.get("refs", [item["ref"]] if "ref" in item else [])
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise ValueError("'refs' is not a list of strings")
            items.append({"src": str(item.get("src", "")), "mt": item["mt"], "refs": refs})
        except (ValueError, KeyError) as err:
            fail(f"input line {number} is not a segment of the protocol ({err})")
    return items


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Whatever COMET, Lightning or C code print while loading and predicting goes to stderr: stdout carries the
    scores only."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def score(ckpt: Path, items: list[dict[str, Any]], args: argparse.Namespace) -> list[float]:
    """comet-score's steps (comet/cli/score.py, 2.2.7): seed, load, eval, half, embedding cache, predict."""
    import logging

    import torch
    from comet import load_from_checkpoint
    from pytorch_lightning import seed_everything

    for name in ("pytorch_lightning", "lightning", "lightning_fabric", "comet"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_float32_matmul_precision("high")
    seed_everything(args.seed, verbose=False)
    model = load_from_checkpoint(str(ckpt), local_files_only=True)
    model.eval()
    if args.precision == "half":
        model.half()
    model.set_embedding_cache()

    def predict(samples: list[dict[str, str]]) -> list[float]:
        out = model.predict(
            samples=samples,
            batch_size=args.batch_size,
            gpus=args.gpus,
            progress_bar=False,
            accelerator="cpu" if args.gpus == 0 else "auto",
        )
        return [float(s) for s in out.scores]

    if not model.requires_references():
        return predict([{"src": it["src"], "mt": it["mt"]} for it in items])
    counts = {len(it["refs"]) for it in items}
    if 0 in counts:
        fail(f"{args.model} needs a reference and a segment has none")
    if len(counts) != 1:
        fail("every segment must have the same number of references")
    n_refs = 1 if args.multi_ref == "first" else counts.pop()
    per_ref = [
        predict([{"src": it["src"], "mt": it["mt"], "ref": it["refs"][k]} for it in items]) for k in range(n_refs)
    ]
    if args.multi_ref == "max":
        return [max(col) for col in zip(*per_ref, strict=True)]
    return [sum(col) / len(col) for col in zip(*per_ref, strict=True)]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub or transformers is imported: never download
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    ckpt = local_checkpoint(args.model)
    if os.environ.get("EVALHARNESS_CHECK") == "1":  # evalharness's check request, before its run: is the model here?
        check_encoder(ckpt or cached_checkpoint(args.model))
        return
    items = read_items(sys.stdin)
    if ckpt is None:
        ckpt = cached_checkpoint(args.model)
    check_encoder(ckpt)
    if not items:
        return
    with stdout_to_stderr():
        scores = score(ckpt, items, args)
    sys.stdout.write("".join(json.dumps(s) + "\n" for s in scores))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

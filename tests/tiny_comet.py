"""Builds a tiny, randomly initialised COMET regression model that `comet.load_from_checkpoint` loads offline, for
tests/test_comet.py. Run it with the COMET environment's python (`make comet-env`), not evalharness's:

    .venv-comet/bin/python tests/tiny_comet.py OUT_DIR TEXT_FILE...

OUT_DIR gets what a COMET model from the hub has (hparams.yaml, checkpoints/model.ckpt) and, as `encoder/`, the
"pretrained" encoder it names: a SentencePiece tokenizer trained here on the text files' lines and the config of
a 2-layer XLM-RoBERTa with hidden size 32. The weights are random (seed 0), so scores are meaningless but fixed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytorch_lightning
import torch
import yaml
from comet.models import RegressionMetric
from tokenizers import SentencePieceUnigramTokenizer
from tokenizers.processors import TemplateProcessing
from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast


def build_encoder(folder: Path, lines: list[str]) -> None:
    """Tokenizer and config of a tiny XLM-RoBERTa, as from_pretrained expects them in a folder."""
    folder.mkdir(parents=True)
    spm = SentencePieceUnigramTokenizer()
    spm.train_from_iterator(
        lines, vocab_size=120, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False
    )
    spm.add_special_tokens(["<mask>"])
    spm.post_processor = TemplateProcessing(  # XLM-R's: <s> A </s>, and <s> A </s> </s> B </s>
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    spm.save(str(folder / "tokenizer.json"))
    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    tokenizer.save_pretrained(str(folder))
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    config.save_pretrained(str(folder))


def build(out: Path, lines: list[str]) -> None:
    build_encoder(out / "encoder", lines)
    torch.manual_seed(0)
    model = RegressionMetric(
        pretrained_model=str(out / "encoder"),
        load_pretrained_weights=False,
        local_files_only=True,
        hidden_sizes=[64, 32],
        layer="mix",
        layer_transformation="sparsemax",
        pool="avg",
        dropout=0.1,
    )
    hparams = {k: v for k, v in dict(model.hparams).items() if k != "class_identifier"}
    (out / "checkpoints").mkdir()
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": hparams,
            "pytorch-lightning_version": pytorch_lightning.__version__,
            "epoch": 0,
            "global_step": 0,
        },
        out / "checkpoints" / "model.ckpt",
    )
    (out / "hparams.yaml").write_text(
        yaml.safe_dump({**hparams, "class_identifier": "regression_metric"}), encoding="utf-8"
    )


if __name__ == "__main__":
    texts = [line.strip() for name in sys.argv[2:] for line in Path(name).read_text(encoding="utf-8").splitlines()]
    build(Path(sys.argv[1]).resolve(), [t for t in texts if t])

"""A Marian model laid out as an OPUS-MT model is (SentencePiece pieces first, `<pad>` the last id, the decoder
started from `<pad>`, `<pad>` never generated), with random weights: what CTranslate2's converter expects, at any
size (tests/test_ctranslate2_engine.py: tiny; bench/ctranslate2.py: 6+6 layers, 512 wide)."""

from __future__ import annotations

import io
import json
from pathlib import Path


def build_marian(
    folder: Path,
    lines: list[str],
    d_model: int = 32,
    layers: int = 1,
    heads: int = 2,
    ffn: int = 64,
    vocab_size: int = 400,
    init_std: float = 1.0,
    seed: int = 0,
) -> Path:
    """Train a SentencePiece vocabulary on `lines`, save tokenizer and random-weight model to `folder`."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=proto,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        unk_id=0,
        eos_id=1,
        bos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    build = folder / ".spm"
    build.mkdir(exist_ok=True)
    for name in ("source.spm", "target.spm"):
        (build / name).write_bytes(proto.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    vocab["<pad>"] = len(vocab)
    (build / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(build / "source.spm"), target_spm=str(build / "target.spm"), vocab=str(build / "vocab.json")
    )
    pad = tokenizer.pad_token_id
    torch.manual_seed(seed)
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        max_position_embeddings=512,
        init_std=init_std,
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=pad,
    )
    model = MarianMTModel(config)
    model.generation_config.bad_words_ids = [[pad]]  # as OPUS-MT models: <pad> only starts the decoder
    model.generation_config.forced_eos_token_id = None
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    for path in build.iterdir():
        path.unlink()
    build.rmdir()
    return folder

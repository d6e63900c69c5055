"""A tiny GGUF model written by the tests: llama architecture, random weights, a SentencePiece-style vocabulary.

llama.cpp loads it in a few milliseconds and generates garbage with it; transformers reads its tokenizer
(`AutoTokenizer.from_pretrained(folder, gguf_file=name)`), chat template included. It is for testing the
plumbing around a GGUF model (prompt rendering, stop strings, errors), not translation.

The vocabulary is a llama.cpp "llama" (SentencePiece) vocabulary: the special tokens, the 256 byte tokens
`<0x00>`..`<0xFF>` and one piece per printable ASCII character plus a few German letters (scores make longer
pieces win, as in SentencePiece). A character without a piece falls back to its UTF-8 bytes, so any text can be
tokenized. The chat tokens of ChatML and Gemma are control tokens, so `special=True` tokenization turns their text
into one token each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIAL = [UNK, BOS, EOS, "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>"]
# Multi-character pieces, so the SentencePiece merges have something to do.
PIECES = ["▁t", "th", "he", "▁th", "▁the", "in", "er", "en", "▁d", "ie", "▁die", "an", "▁a", "▁an", "nd", "▁and"]

HIDDEN, LAYERS, HEADS, FFN, CONTEXT = 64, 2, 4, 128, 8192
NEWLINE_SCALE = 1.0


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of the tiny SentencePiece vocabulary."""
    import gguf

    tokens = list(SPECIAL)
    types = [gguf.TokenType.UNKNOWN] + [gguf.TokenType.CONTROL] * (len(SPECIAL) - 1)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    pieces = ["▁"] + [chr(c) for c in range(33, 127)] + list("äöüßÄÖÜ") + PIECES
    tokens += pieces
    types += [gguf.TokenType.NORMAL] * len(pieces)
    # Fixed tokens score 0; a piece scores higher the longer it is (the merge order of SentencePiece).
    scores = [0.0] * (len(SPECIAL) + 256) + [float(len(p)) - 10.0 - i / 1000 for i, p in enumerate(pieces)]
    return tokens, scores, [int(t) for t in types]


def write_tiny_gguf(path: str | Path, chat_template: str | None, seed: int = 0) -> Path:
    """Write the tiny model to `path` (a .gguf file), with `chat_template` as tokenizer.chat_template if given."""
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = vocabulary()
    vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-test-llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(tokens.index(UNK))
    writer.add_bos_token_id(tokens.index(BOS))
    writer.add_eos_token_id(tokens.index(EOS))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    # As in Gemma's GGUF files: no space before the text (llama.cpp would otherwise put one after every special
    # token, which transformers' tokenizer does not).
    writer.add_add_space_prefix(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    rng = np.random.default_rng(seed)

    def weight(*shape: int, scale: float = 0.2) -> np.ndarray:
        # numpy shape (rows, columns) = GGUF shape (columns, rows): (out_features, in_features) as in torch
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    ones = np.ones(HIDDEN, dtype=np.float32)
    writer.add_tensor("token_embd.weight", weight(vocab, HIDDEN, scale=1.0))
    for i in range(LAYERS):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones)
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weight(HIDDEN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(FFN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(FFN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(HIDDEN, FFN))
    writer.add_tensor("output_norm.weight", ones)
    output = weight(vocab, HIDDEN, scale=0.5)
    # Special and byte tokens get no logit of their own, so the garbage is printable and never ends early (an
    # end-of-generation token would make an empty output); the newline byte wins now and then, so the stop at
    # the first newline has work to do.
    newline = tokens.index("<0x0A>")
    output[: len(SPECIAL) + 256] = 0.0
    output[newline] = weight(HIDDEN, scale=NEWLINE_SCALE)
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path

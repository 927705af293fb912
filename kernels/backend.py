"""Choose between a Triton kernel and its PyTorch reference (CUDA tensors: the kernel; CPU tensors: the reference, or the
kernel in Triton's interpreter when asked for), and launch Triton kernels on any device (docs/kernels.md)."""
from __future__ import annotations

import os
from functools import cache
from typing import Any, Literal

import torch

from kernels.errors import TritonMissing

Backend = Literal["auto", "triton", "torch"]
BACKENDS: tuple[str, ...] = ("auto", "triton", "torch")


def interpret_requested() -> bool:
    """True when the environment asks for Triton's CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


@cache
def triton_available() -> bool:
    """True when the triton package imports."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(backend: str, *tensors: torch.Tensor) -> Literal["triton", "torch"]:
    """The backend to run on these tensors: ``auto`` picks Triton for CUDA tensors or an interpreter request.

    Without the triton package ``auto`` always gives the reference, and ``triton`` raises TritonMissing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if backend == "triton" and not triton_available():
        raise TritonMissing()
    if backend != "auto":
        return backend  # type: ignore[return-value]
    on_cuda = all(t.is_cuda for t in tensors)
    if triton_available() and (on_cuda or interpret_requested()):
        return "triton"
    return "torch"


@cache
def _interpreted(fn: Any) -> Any:
    from triton.runtime.interpreter import InterpretedFunction

    return InterpretedFunction(fn)


def launchable(kernel: Any, device: torch.device) -> Any:
    """The kernel to launch for tensors on ``device``: compiled on CUDA, interpreted on the CPU."""
    from triton.runtime.interpreter import InterpretedFunction

    if device.type == "cuda" or isinstance(kernel, InterpretedFunction):
        return kernel
    return _interpreted(kernel.fn)

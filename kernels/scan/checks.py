"""Input checks of the diagonal scan, shared by the reference and the Triton path (no triton import)."""
from __future__ import annotations

import torch

from kernels.errors import KernelArgumentError

_REAL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def check_scan_inputs(a: torch.Tensor, b: torch.Tensor, initial_state: torch.Tensor | None) -> None:
    """Raise KernelArgumentError unless a and b are matching (B, T, D) tensors of a supported dtype."""
    if b.dim() != 3:
        raise KernelArgumentError("b", f"expected (B, T, D), got shape {tuple(b.shape)}")
    if a.shape != b.shape:
        raise KernelArgumentError("a", f"expected shape {tuple(b.shape)} like b, got {tuple(a.shape)}")
    if b.is_complex() != a.is_complex():
        raise KernelArgumentError("a", "a and b must both be real or both be complex")
    if b.is_complex() and (a.dtype, b.dtype) != (torch.complex64, torch.complex64):
        raise KernelArgumentError("b", f"complex scans take complex64, got {a.dtype} and {b.dtype}")
    if not b.is_complex() and (a.dtype not in _REAL_DTYPES or b.dtype not in _REAL_DTYPES):
        raise KernelArgumentError("b", f"expected float32, bfloat16 or float16, got {a.dtype} and {b.dtype}")
    if initial_state is not None and initial_state.shape != (b.shape[0], b.shape[2]):
        raise KernelArgumentError("initial_state", f"expected {(b.shape[0], b.shape[2])}, got {tuple(initial_state.shape)}")

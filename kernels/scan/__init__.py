"""Diagonal linear recurrence h_t = a_t * h_{t-1} + b_t: one entry point over a Triton kernel and a reference."""
from __future__ import annotations

import torch

from kernels.backend import Backend, resolve
from kernels.scan.checks import check_scan_inputs
from kernels.scan.naive import naive_diagonal_scan


def diagonal_scan(
    a: torch.Tensor,
    b: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    backend: Backend = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """h_t = a_t * h_{t-1} + b_t over (B, T, D) gates a and inputs b; returns (h, h_T or None).

    a may take any real value (negative and zero gates are exact: no log-space form is used);
    complex64 a and b scan rotation-scaling pairs. h has b's dtype; the state, and h_T, are
    float32 (complex64). ``backend``: "auto" (Triton on CUDA or under TRITON_INTERPRET=1,
    else the reference), "triton" or "torch". Both are differentiable.
    """
    check_scan_inputs(a, b, initial_state)
    if resolve(backend, a, b) == "triton":
        from kernels.scan.chunk import triton_diagonal_scan

        h, last = triton_diagonal_scan(a, b, initial_state)
    else:
        h, last = naive_diagonal_scan(a, b, initial_state)
    return h, (last if output_final_state else None)


__all__ = ["diagonal_scan", "naive_diagonal_scan"]

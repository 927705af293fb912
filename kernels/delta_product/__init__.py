"""Gated DeltaProduct (n_h Householder factors per token; n_h = 1 is DeltaNet): one entry point, fla's layout."""
from __future__ import annotations

import torch

from kernels.backend import Backend, resolve
from kernels.delta_product.naive import naive_delta_product
from kernels.errors import KernelArgumentError


def _check(q, k, v, g, beta, num_householder, initial_state) -> None:
    """Raise KernelArgumentError unless the shapes follow chunk_gated_delta_product's conventions."""
    if q.dim() != 4:
        raise KernelArgumentError("q", f"expected (B, T, H, K), got {tuple(q.shape)}")
    if num_householder < 1:
        raise KernelArgumentError("num_householder", f"expected at least 1, got {num_householder}")
    batch, length, heads, k_dim = q.shape
    rows = length * num_householder
    if k.shape != (batch, rows, heads, k_dim):
        raise KernelArgumentError("k", f"expected {(batch, rows, heads, k_dim)}, got {tuple(k.shape)}")
    if v.dim() != 4 or v.shape[:3] != (batch, rows, heads):
        raise KernelArgumentError("v", f"expected ({batch}, {rows}, {heads}, V), got {tuple(v.shape)}")
    if beta.shape != (batch, rows, heads):
        raise KernelArgumentError("beta", f"expected {(batch, rows, heads)}, got {tuple(beta.shape)}")
    if g is not None and g.shape != (batch, length, heads):
        raise KernelArgumentError("g", f"expected {(batch, length, heads)}, got {tuple(g.shape)}")
    state = (batch, heads, k_dim, v.shape[-1])
    if initial_state is not None and initial_state.shape != state:
        raise KernelArgumentError("initial_state", f"expected {state}, got {tuple(initial_state.shape)}")
    if max(k_dim, v.shape[-1]) > 256:
        raise KernelArgumentError("q", f"K and V up to 256 are supported, got K={k_dim}, V={v.shape[-1]}")


CHUNKED_MIN_ROWS = 256
"""Sequences of at least this many Householder rows take the chunked kernel on a GPU."""


def _chunked(q: torch.Tensor, k: torch.Tensor) -> bool:
    """The chunked kernel serves long half-precision sequences on CUDA; float32 keeps the exact token-by-token kernel."""
    return q.is_cuda and q.dtype in (torch.bfloat16, torch.float16) and k.shape[1] >= CHUNKED_MIN_ROWS


def gated_delta_product(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor | None,
    beta: torch.Tensor,
    num_householder: int = 1,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    backend: Backend = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """DeltaProduct over q (B, T, H, K), k (B, T*n_h, H, K), v (B, T*n_h, H, V), beta (B, T*n_h, H).

    Same conventions as flash-linear-attention's ``chunk_gated_delta_product``: the n_h factors of
    token t are rows t*n_h .. t*n_h+n_h-1; g (B, T, H) is a log-space decay applied before the
    token's factors (None: no gate); scale defaults to K**-0.5; states are (B, H, K, V) float32.
    Returns (o (B, T, H, V) in q's dtype, final state or None). Any dtype (float32 included),
    beta anywhere in [0, 2]. ``backend``: "auto", "triton" or "torch"; both are differentiable.
    On CUDA, bfloat16/float16 inputs of at least CHUNKED_MIN_ROWS rows run the chunked (WY/UT)
    kernel; everything else the fused-recurrent one.
    """
    _check(q, k, v, g, beta, num_householder, initial_state)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    path = resolve(backend, q, k, v)
    if path == "triton" and _chunked(q, k):
        from kernels.delta_product.chunk import chunk_delta_product

        o, state = chunk_delta_product(q, k, v, g, beta, num_householder, scale, initial_state)
    elif path == "triton":
        from kernels.delta_product.fused_recurrent import fused_recurrent_delta_product

        o, state = fused_recurrent_delta_product(q, k, v, g, beta, num_householder, scale, initial_state)
    else:
        o, state = naive_delta_product(q, k, v, g, beta, num_householder, scale, initial_state)
    return o, (state if output_final_state else None)


__all__ = ["gated_delta_product", "naive_delta_product"]

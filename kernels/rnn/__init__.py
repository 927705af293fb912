"""Nonlinear recurrences (Elman, LSTM, GRU) with the sequential part fused into one Triton kernel."""
from __future__ import annotations

import torch

from kernels.backend import Backend, resolve
from kernels.errors import KernelArgumentError
from kernels.rnn.naive import GATES, naive_rnn
from kernels.rnn.projection import input_projection

MAX_HIDDEN = 512


PRECISIONS = ("ieee", "tf32", "bf16")
"""Products h W_hh^T in the Triton kernels: "ieee" fp32 (exact), "tf32" or "bf16" tensor-core inputs."""


def _check(cell: str, xp: torch.Tensor, w_hh: torch.Tensor, b_hh, h0, c0, precision: str) -> None:
    """Raise KernelArgumentError unless the arguments fit torch.nn's layout for this cell."""
    if cell not in GATES:
        raise KernelArgumentError("cell", f"expected one of {tuple(GATES)}, got {cell!r}")
    if precision not in PRECISIONS:
        raise KernelArgumentError("precision", f"expected one of {PRECISIONS}, got {precision!r}")
    if xp.dim() != 3:
        raise KernelArgumentError("xp", f"expected (B, T, G*H), got {tuple(xp.shape)}")
    hidden = w_hh.shape[-1]
    rows = GATES[cell] * hidden
    if w_hh.shape != (rows, hidden):
        raise KernelArgumentError("w_hh", f"expected ({rows}, {hidden}) for a {cell} cell, got {tuple(w_hh.shape)}")
    if hidden > MAX_HIDDEN:
        raise KernelArgumentError("w_hh", f"hidden sizes up to {MAX_HIDDEN} are supported, got {hidden}")
    if xp.shape[-1] != rows:
        raise KernelArgumentError("xp", f"expected last dimension {rows}, got {xp.shape[-1]}")
    if b_hh is not None and b_hh.shape != (rows,):
        raise KernelArgumentError("b_hh", f"expected ({rows},), got {tuple(b_hh.shape)}")
    for name, state in (("h0", h0), ("c0", c0)):
        if state is not None and state.shape != (xp.shape[0], hidden):
            raise KernelArgumentError(name, f"expected {(xp.shape[0], hidden)}, got {tuple(state.shape)}")


def rnn_recurrence(
    cell: str,
    xp: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
    backend: Backend = "auto",
    precision: str = "ieee",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The recurrent part of an Elman/LSTM/GRU layer over projected inputs xp = x W_ih^T + b_ih.

    xp is (B, T, G*H) with G = 1, 4, 3 gates in torch.nn's order; w_hh (G*H, H); hidden up to
    512; float32 arithmetic. Returns (h (B, T, H), h_T, c_T for "lstm" else None); differentiable.
    ``precision`` sets the Triton kernels' products (PRECISIONS); the reference is always exact.
    """
    _check(cell, xp, w_hh, b_hh, h0, c0, precision)
    if resolve(backend, xp, w_hh) == "torch":
        return naive_rnn(cell, xp, w_hh, b_hh, h0, c0)
    from kernels.rnn.fused import fits, fused_rnn

    if not fits(cell, w_hh.shape[1], precision, xp.device):
        raise KernelArgumentError("w_hh", f"hidden size {w_hh.shape[1]} needs more programs than this GPU has SMs")

    batch, hidden = xp.shape[0], w_hh.shape[1]
    zeros = xp.new_zeros(batch, hidden, dtype=torch.float32)
    bias = b_hh if b_hh is not None else xp.new_zeros(w_hh.shape[0], dtype=torch.float32)
    h, h_last, c_last = fused_rnn(cell, xp, w_hh, bias, h0 if h0 is not None else zeros,
                                  c0 if c0 is not None else zeros, precision)
    return h, h_last, (c_last if cell == "lstm" else None)


def rnn_layer(
    cell: str,
    x: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
    backend: Backend = "auto",
    precision: str = "ieee",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One batch-first layer with torch.nn.RNN/LSTM/GRU's weights: one matmul for all inputs (its bias in the GEMM's
    epilogue), then the recurrence. The "tf32" and "bf16" precisions run this projection and the weight gradients
    in TF32 too (as cuDNN's TF32 mode does); "ieee" keeps every product fp32."""
    xp = input_projection(x, w_ih, b_ih, tf32=precision != "ieee" and x.is_cuda)
    return rnn_recurrence(cell, xp, w_hh, b_hh, h0, c0, backend, precision)


__all__ = ["GATES", "MAX_HIDDEN", "PRECISIONS", "naive_rnn", "rnn_layer", "rnn_recurrence"]

"""The input projection of an RNN layer (x W_ih^T + b_ih for all steps at once), optionally on TF32 tensor cores."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def tensor_cores(enabled: bool) -> Iterator[None]:
    """Within the block, CUDA float32 matmuls may use TF32 tensor cores when ``enabled`` (else unchanged)."""
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = before or enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


class _TF32Projection(torch.autograd.Function):
    """linear(x, w, b) whose forward and backward GEMMs (dx, dW) run in TF32; the bias rides the GEMM's epilogue."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        with tensor_cores(True):
            return torch.nn.functional.linear(x, w, b)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = dw = db = None
        with tensor_cores(True):
            if ctx.needs_input_grad[0]:
                dx = grad @ w
            if ctx.needs_input_grad[1]:
                dw = grad.flatten(0, -2).T @ x.flatten(0, -2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = grad.flatten(0, -2).sum(0)
        return dx, dw, db


def input_projection(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, tf32: bool) -> torch.Tensor:
    """x w^T + b over the last axis; ``tf32``: its GEMMs (forward and gradients) on TF32 tensor cores."""
    return _TF32Projection.apply(x, w, b) if tf32 else torch.nn.functional.linear(x, w, b)

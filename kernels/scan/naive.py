"""Plain PyTorch reference of the diagonal linear recurrence h_t = a_t * h_{t-1} + b_t."""
from __future__ import annotations

import torch


def naive_diagonal_scan(
    a: torch.Tensor,
    b: torch.Tensor,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the recurrence step by step over (B, T, D) inputs; returns (h, h_T).

    The state is kept in float32 (complex64 for complex inputs) or in the inputs' precision
    when that is wider, so float64 inputs give a float64 oracle.
    """
    state_dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
    batch, length, width = b.shape
    h = torch.zeros(batch, width, dtype=state_dtype, device=b.device)
    if initial_state is not None:
        h = initial_state.to(state_dtype)
    outputs = []
    for t in range(length):
        h = a[:, t].to(state_dtype) * h + b[:, t].to(state_dtype)
        outputs.append(h)
    out = torch.stack(outputs, dim=1) if outputs else b.new_zeros(batch, 0, width, dtype=state_dtype)
    return out.to(b.dtype), h

"""The sequential time loop shared by recurrences without a parallel kernel."""
from __future__ import annotations

from collections.abc import Callable

import torch


def unroll(step: Callable[[torch.Tensor, int], torch.Tensor], h0: torch.Tensor, length: int) -> torch.Tensor:
    """States h_1..h_T of ``h_t = step(h_{t-1}, t)`` from ``h0`` (B, n), stacked to (B, T, n)."""
    h, out = h0, []
    for t in range(length):
        h = step(h, t)
        out.append(h)
    return torch.stack(out, dim=1) if out else h0.new_zeros(h0.shape[0], 0, h0.shape[-1])

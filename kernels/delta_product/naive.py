"""Plain PyTorch reference of the gated DeltaProduct recurrence (Siems et al. 2025) in fla's layout: per token a decay,
then n_h Householder factors (docs/kernels.md#deltaproduct)."""
from __future__ import annotations

import torch


def naive_delta_product(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor | None,
    beta: torch.Tensor,
    num_householder: int = 1,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step through the recurrence; returns (o in q's dtype, final state (B, H, K, V)).

    Arithmetic is float32, or float64 when the inputs are float64 (the test oracle).
    """
    batch, length, heads, dk = q.shape
    dv = v.shape[-1]
    wide = torch.promote_types(q.dtype, torch.float32)
    scale = dk ** -0.5 if scale is None else scale
    qw, kw, vw, bw = (x.to(wide) for x in (q, k, v, beta))
    state = torch.zeros(batch, heads, dk, dv, dtype=wide, device=q.device)
    if initial_state is not None:
        state = initial_state.to(wide)
    outputs = []
    for t in range(length):
        if g is not None:
            state = state * g[:, t].to(wide).exp()[..., None, None]
        for j in range(num_householder):
            row = t * num_householder + j
            key, value, rate = kw[:, row], vw[:, row], bw[:, row]
            predicted = torch.einsum("bhkv,bhk->bhv", state, key)
            state = state + torch.einsum("bhk,bhv->bhkv", key, rate[..., None] * (value - predicted))
        outputs.append(torch.einsum("bhkv,bhk->bhv", state, scale * qw[:, t]))
    out = torch.stack(outputs, dim=1) if outputs else q.new_zeros(batch, 0, heads, dv, dtype=wide)
    return out.to(q.dtype), state

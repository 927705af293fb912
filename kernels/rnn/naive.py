"""Plain PyTorch references of the Elman, LSTM and GRU recurrences in torch.nn's weight layout: the sequential part, from
inputs projected outside (docs/kernels.md#nonlinear-rnns)."""
from __future__ import annotations

import torch

GATES = {"elman": 1, "lstm": 4, "gru": 3}


def naive_rnn(
    cell: str,
    xp: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor | None = None,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Step the cell over time; returns (h (B, T, H), h_T, c_T for the LSTM else None)."""
    batch, length, _ = xp.shape
    hidden = w_hh.shape[1]
    h = xp.new_zeros(batch, hidden) if h0 is None else h0.to(xp.dtype)
    c = xp.new_zeros(batch, hidden) if c0 is None else c0.to(xp.dtype)
    bias = xp.new_zeros(w_hh.shape[0]) if b_hh is None else b_hh
    outputs = []
    for t in range(length):
        x, rec = xp[:, t], h @ w_hh.T + bias
        if cell == "elman":
            h = torch.tanh(x + rec)
        elif cell == "lstm":
            i, f, g, o = (x + rec).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            xr, xz, xn = x.chunk(3, dim=-1)
            hr, hz, hn = rec.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * h
        outputs.append(h)
    out = torch.stack(outputs, dim=1) if outputs else xp.new_zeros(batch, 0, hidden)
    return out, h, (c if cell == "lstm" else None)

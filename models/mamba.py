"""Selective diagonal SSM in the form of Mamba's S6 (Gu & Dao 2023) with one state per channel:
``h_t = a_t * h_{t-1} + g_t * u_t``, where the gate ``a_t``, the input ``u_t = W_u x_t + c_u`` and the
selective step ``g_t`` (Mamba's Delta_t B_t) all depend on the input; output ``C h_t + d``.

The product ``g_t * u_t`` is the multiplicative interaction that LSRL's conversion to Mamba uses
for gating (Petrov et al. 2024, Sec. 5). Trained models squash: ``a = lo + (hi - lo) sigmoid(.)`` and
``g = softplus(.)``. The exact (compiled) path is piecewise linear: ``a = clamp(., lo, hi)`` and
``g`` the identity, so compiled gates such as 0, 1 and -1 and products of exact values are exact; a
compiler must prove that every gate it builds lies in [lo, hi] (``LayerConfig.gate_range``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.config import LayerConfig
from models.diagonal import check_gate_range, diagonal_recurrence


class MambaRecurrence(nn.Module):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False):
        super().__init__()
        n = layer.d_state
        self.d_state = n
        self.exact = exact
        self.lo, self.hi = check_gate_range(layer.gate_range, (-1.0, 1.0))
        self.to_a = nn.Linear(d_model, n)
        self.to_u = nn.Linear(d_model, n)
        self.to_g = nn.Linear(d_model, n)
        self.out = nn.Linear(n, d_model)
        self.h0 = nn.Parameter(torch.zeros(n))
        if not exact:  # gates start near hi: long memory at initialisation, as in Mamba
            nn.init.constant_(self.to_a.bias, 3.0)

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """a_t for every position, (B, T, d_state), inside [lo, hi]."""
        pre = self.to_a(x)
        if self.exact:
            return pre.clamp(self.lo, self.hi)
        return self.lo + (self.hi - self.lo) * torch.sigmoid(pre)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """g_t * u_t for every position, (B, T, d_state)."""
        g = self.to_g(x)
        return self.to_u(x) * (g if self.exact else F.softplus(g))

    @property
    def state_size(self) -> int:
        return self.d_state

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        if self.d_state == 0 or x.shape[1] == 0:
            return x.new_zeros(*x.shape[:2], self.d_state)
        return diagonal_recurrence(self.gates(x), self.inputs(x), self.h0.expand(x.shape[0], self.d_state))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.states(x))

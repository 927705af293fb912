"""Selective diagonal SSM in the form of Mamba's S6 (Gu & Dao 2023) with one state per channel:
``h_t = a_t * h_{t-1} + g_t * u_t``, where the gate ``a_t``, the input ``u_t = W_b x_t + c_b`` and the
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
from models.diagonal import DiagonalRecurrence


class MambaRecurrence(DiagonalRecurrence):
    """The diagonal recurrence (same gates, state and output) with Mamba's selective input
    ``b_t = g_t * u_t``, where ``u_t`` is the parent's ``to_b`` and ``g_t`` comes from ``to_g``."""

    family = "mamba"

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__(d_model, layer, exact, d_out)
        self.to_g = nn.Linear(d_model, self.d_state)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """g_t * u_t for every position, (B, T, d_state)."""
        g = self.to_g(x)
        return self.branch(x) * (g if self.exact else F.softplus(g))

"""Selective diagonal SSM in the form of Mamba's S6 (Gu & Dao 2023): ``h_t = a_t * h_{t-1} + g_t * u_t``, output
``C h_t + d``; piecewise linear on the exact path (docs/architectures.md#mambas-selective-step)."""
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
        return self.branch(x) * (g if self.exact else F.softplus(g))  # Why: docs/architectures.md#mambas-selective-step

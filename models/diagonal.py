"""Selective diagonal real linear RNN (Mamba-like): ``h_t = a_t * h_{t-1} + b_t``, an input-dependent gate in
``LayerConfig.gate_range``, squashed when trained and clamped on the exact path (docs/architectures.md#diagonal-gates)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kernels.scan import diagonal_scan, naive_diagonal_scan
from models.config import LayerConfig
from models.layer_parts import Recurrence, convolved, refuse_parts, short_convolution, write_map

_WIDE = (torch.float64, torch.complex128)


def diagonal_recurrence(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_1..h_T of ``h_t = a_t * h_{t-1} + b_t`` from ``h0`` (B, D): the kernel scan, or its float64 /
    complex128 reference (the kernel takes 32-bit and narrower inputs only)."""
    if b.dtype in _WIDE:
        return naive_diagonal_scan(a, b, h0)[0]
    return diagonal_scan(a, b, initial_state=h0)[0]


def check_gate_range(gate_range: tuple[float, float], widest: tuple[float, float]) -> tuple[float, float]:
    """The range as floats, if ``widest[0] <= lo < hi <= widest[1]``; ValueError otherwise."""
    lo, hi = (float(v) for v in gate_range)
    if not widest[0] <= lo < hi <= widest[1]:
        raise ValueError(f"gate_range {gate_range} must satisfy {widest[0]} <= lo < hi <= {widest[1]}")
    return lo, hi


class DiagonalRecurrence(Recurrence):
    """``layer.heads`` heads of ``layer.d_state`` channels each (heads only group the output norm: every channel
    is its own recurrence); the short convolution, if any, acts on the input branch b_t (as Mamba2's on its x_t)."""

    family = "diag"

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, self.family)
        n = layer.heads * layer.d_state
        self.d_state = n
        self.exact = exact
        self.lo, self.hi = check_gate_range(layer.gate_range, (-1.0, 1.0))
        self.tied_input = layer.tied_input
        self.to_a = nn.Linear(d_model, n)
        self.to_b = nn.Linear(d_model, n)
        self.out = write_map(n, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(n))
        if not exact:  # gates start near hi: long memory at initialisation, as in Mamba
            nn.init.constant_(self.to_a.bias, 3.0)
        self.conv = short_convolution(layer, n)
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step."""
        return self.d_state

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """a_t for every position, (B, T, d_state), inside [lo, hi]."""
        pre = self.to_a(x)
        if self.exact:
            return pre.clamp(self.lo, self.hi)  # Why: docs/architectures.md#diagonal-gates
        return self.lo + (self.hi - self.lo) * torch.sigmoid(pre)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """``W_b x_t + c_b`` through the short convolution if there is one, (B, T, d_state)."""
        return convolved(self.conv, self.to_b(x))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """b_t for every position, (B, T, d_state): the branch, or with ``tied_input`` HGRN's
        ``silu(branch) * (1 - a_t)``, which keeps a channel whose gate nears 1 from accumulating without bound."""
        b = self.branch(x)
        return F.silu(b) * (1 - self.gates(x)) if self.tied_input else b

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        if self.d_state == 0 or x.shape[1] == 0:
            return x.new_zeros(*x.shape[:2], self.d_state)
        return diagonal_recurrence(self.gates(x), self.inputs(x), self.h0.expand(x.shape[0], self.d_state))

"""Hawk's recurrent block (De et al. 2024, "Griffin", Sec. 2.4): a width-4 causal convolution, the RG-LRU and a GeLU gate
branch; compiled weights saturate (docs/architectures.md#hawks-rg-lru)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.config import LayerConfig
from models.layer_parts import Recurrence, refuse_parts, write_map

CONV_WIDTH = 4
C = 8.0


class RGLRURecurrence(Recurrence):
    """Its width-4 convolution and GeLU gate branch are part of the block; ``LayerConfig`` adds pre-normalisation
    and the output norm only."""

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "hawk")
        n = layer.d_state
        self.d_state = n
        self.to_u = nn.Linear(d_model, n)
        self.conv = nn.Parameter(torch.zeros(n, CONV_WIDTH))  # conv[:, k] weighs u_{t-k}
        self.conv_bias = nn.Parameter(torch.zeros(n))
        with torch.no_grad():
            self.conv[:, 0] = 1.0
        self.to_r = nn.Linear(n, n)
        self.to_i = nn.Linear(n, n)
        # a = sigmoid(Lambda) in [0.9, 0.999] at initialisation (Griffin, Sec. 2.4)
        self.lam = nn.Parameter(torch.logit(torch.empty(n).uniform_(0.9 ** (1 / C), 0.999 ** (1 / C))))
        self.to_gate = nn.Linear(d_model, n)
        self.out = write_map(n, d_model, layer, d_out)
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        return self.d_state

    def conv_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """x_t = sum_k conv[:, k] * u_{t-k} + bias (u_s = 0 for s < 1), (B, T, d_state)."""
        u = self.to_u(x)
        padded = F.pad(u, (0, 0, CONV_WIDTH - 1, 0))
        t = u.shape[1]
        return sum(padded[:, CONV_WIDTH - 1 - k: CONV_WIDTH - 1 - k + t] * self.conv[:, k]
                   for k in range(CONV_WIDTH)) + self.conv_bias

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        xc = self.conv_inputs(x)
        r, i = torch.sigmoid(self.to_r(xc)), torch.sigmoid(self.to_i(xc))
        a = torch.pow(torch.sigmoid(self.lam), C * r)
        drive = torch.sqrt((1 - a * a).clamp(min=0)) * (i * xc)
        h = x.new_zeros(x.shape[0], self.d_state)
        out = []
        for t in range(x.shape[1]):
            h = a[:, t] * h + drive[:, t]
            out.append(h)
        return torch.stack(out, dim=1) if out else xc

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The gate branch times the states, GeLU(W_g x_t + b_g) * h_t, (B, T, d_state)."""
        return F.gelu(self.to_gate(x)) * self.states(x)

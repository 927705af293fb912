"""LSTM and GRU with torch.nn's equations, gate order and parameter layout, learnable initial states and an output
projection; compiled weights saturate every gate (docs/architectures.md#saturated-lstm-and-gru-gates)."""
from __future__ import annotations

import math

import torch
from torch import nn

from kernels.backend import resolve
from kernels.rnn import MAX_HIDDEN, rnn_recurrence
from models.config import LayerConfig
from models.layer_parts import Recurrence, refuse_parts, write_map


def fused_kernel_applies(x: torch.Tensor, hidden: int) -> bool:
    """Whether a layer's time loop runs as ``kernels.rnn``'s fused Triton kernel: on CUDA (or with
    ``TRITON_INTERPRET=1``), in float32, for hidden sizes up to ``MAX_HIDDEN``. Elsewhere (CPU, float64,
    wider layers) the layer steps in PyTorch, so CPU results do not depend on the kernel."""
    return (0 < hidden <= MAX_HIDDEN and x.dtype == torch.float32 and x.shape[1] > 0
            and resolve("auto", x) == "triton")


class _GatedRecurrence(Recurrence):
    """Parameters shared by LSTM and GRU: ``gates`` blocks of hidden width each, torch's layout."""

    gates_per_unit = 1

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, type(self).__name__.removesuffix("Recurrence").lower())
        n = layer.d_state
        self.d_state = n
        self.weight_ih = nn.Parameter(torch.empty(self.gates_per_unit * n, d_model))
        self.weight_hh = nn.Parameter(torch.empty(self.gates_per_unit * n, n))
        self.bias_ih = nn.Parameter(torch.empty(self.gates_per_unit * n))
        self.bias_hh = nn.Parameter(torch.empty(self.gates_per_unit * n))
        bound = 1.0 / math.sqrt(n)  # torch.nn.LSTM / GRU initialisation
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)
        self.out = write_map(n, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(n))
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step."""
        return self.d_state


class LSTMRecurrence(_GatedRecurrence):
    gates_per_unit = 4

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__(d_model, layer, exact, d_out)
        self.c0 = nn.Parameter(torch.zeros(layer.d_state))

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step: hidden and cell state."""
        return 2 * self.d_state

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state) (the cell states are internal)."""
        drive = x @ self.weight_ih.T + self.bias_ih
        h = self.h0.expand(x.shape[0], self.d_state)
        c = self.c0.expand(x.shape[0], self.d_state)
        if fused_kernel_applies(x, self.d_state):
            return rnn_recurrence("lstm", drive, self.weight_hh, self.bias_hh, h.contiguous(), c.contiguous())[0]
        out = []
        for t in range(x.shape[1]):
            i, f, g, o = (drive[:, t] + h @ self.weight_hh.T + self.bias_hh).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, dim=1)


class GRURecurrence(_GatedRecurrence):
    gates_per_unit = 3

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        drive = x @ self.weight_ih.T + self.bias_ih
        h = self.h0.expand(x.shape[0], self.d_state)
        if fused_kernel_applies(x, self.d_state):
            return rnn_recurrence("gru", drive, self.weight_hh, self.bias_hh, h.contiguous())[0]
        out = []
        for t in range(x.shape[1]):
            x_r, x_z, x_n = drive[:, t].chunk(3, dim=-1)
            h_r, h_z, h_n = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
            out.append(h)
        return torch.stack(out, dim=1)

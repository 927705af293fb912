"""Elman RNN: ``h_t = sigma(W h_{t-1} + U x_t + c)`` with sigma = ReLU or tanh, output ``V h_t``. The tanh
cell's time loop runs as ``kernels.rnn``'s fused kernel where it applies (``fused_kernel_applies``)."""
from __future__ import annotations

import torch
from torch import nn

from kernels.rnn import rnn_recurrence
from models.config import LayerConfig
from models.gated_rnn import fused_kernel_applies
from models.layer_parts import Recurrence, refuse_parts, write_map
from models.unroll import unroll


class ElmanRecurrence(Recurrence):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "elman")
        if layer.nonlinearity not in ("relu", "tanh"):
            raise ValueError(f"elman nonlinearity must be relu or tanh, got {layer.nonlinearity!r}")
        n = layer.d_state
        self.d_state = n
        self.nonlinearity = layer.nonlinearity
        self.activation = torch.relu if layer.nonlinearity == "relu" else torch.tanh
        self.recurrent = nn.Linear(n, n, bias=False)
        self.inp = nn.Linear(d_model, n)
        self.out = write_map(n, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(n))
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        return self.d_state

    def states(self, x: torch.Tensor) -> torch.Tensor:
        drive = self.inp(x)
        if self.nonlinearity == "tanh" and fused_kernel_applies(x, self.d_state):
            h0 = self.h0.expand(x.shape[0], self.d_state).contiguous()
            return rnn_recurrence("elman", drive, self.recurrent.weight, None, h0)[0]
        return unroll(lambda h, t: self.activation(self.recurrent(h) + drive[:, t]),
                      self.h0.expand(x.shape[0], self.d_state), x.shape[1])

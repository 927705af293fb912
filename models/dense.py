"""Dense input-dependent linear RNN: ``h_t = A(x_t) h_{t-1} + b(x_t)``, with A an affine function of
the input reshaped to a full matrix. One layer of it simulates any DFA with one-hot states and 0/1
transition matrices (folklore; Merrill, Petty, Sabharwal 2024 propose such transitions)."""
from __future__ import annotations

import torch
from torch import nn

from models.config import LayerConfig
from models.layer_parts import Recurrence, refuse_parts, write_map
from models.unroll import unroll


class DenseRecurrence(Recurrence):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "dense-lrnn")
        n = layer.d_state
        self.d_state = n
        self.to_a = nn.Linear(d_model, n * n)
        self.to_b = nn.Linear(d_model, n)
        self.out = write_map(n, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(n))
        if not exact:  # near-identity transitions train stably
            nn.init.zeros_(self.to_a.weight)
            with torch.no_grad():
                self.to_a.bias.copy_(torch.eye(n).flatten())
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        return self.d_state

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        batch, length, _ = x.shape
        b = self.to_b(x)

        def step(h: torch.Tensor, t: int) -> torch.Tensor:
            a = self.to_a(x[:, t]).view(batch, self.d_state, self.d_state)
            return torch.bmm(a, h.unsqueeze(-1)).squeeze(-1) + b[:, t]

        return unroll(step, self.h0.expand(batch, self.d_state), length)

"""Linear time-invariant RNN, the target of LSRL (Petrov et al. 2024, "Universal In-Context
Approximation By Prompting Fully Recurrent Models", Sec. 3): ``h_t = A h_{t-1} + B x_t + c`` with a
dense constant ``A``, output ``C h_t + d``. Every nonlinearity lives in the position-wise MLPs."""
from __future__ import annotations

import torch
from torch import nn

from models.config import LayerConfig
from models.layer_parts import Recurrence, refuse_parts, write_map
from models.unroll import unroll


class LtiRecurrence(Recurrence):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "lti")
        n = layer.d_state
        self.d_state = n
        self.transition = nn.Parameter(0.9 * torch.eye(n))  # stable, long memory at initialisation
        self.inp = nn.Linear(d_model, n)
        self.out = write_map(n, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(n))
        self.add_output_parts(layer, n, d_model)

    @property
    def state_size(self) -> int:
        return self.d_state

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T, (B, T, d_state)."""
        drive = self.inp(x)
        return unroll(lambda h, t: h @ self.transition.T + drive[:, t],
                      self.h0.expand(x.shape[0], self.d_state), x.shape[1])

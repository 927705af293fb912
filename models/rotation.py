"""Complex diagonal linear RNN (LRU-like, input-dependent rotations) over ``d_state / 2`` complex channels; polar gates
when trained, Cartesian on the exact path (docs/architectures.md#complex-rotations)."""
from __future__ import annotations

import torch
from torch import nn

from models.config import LayerConfig
from models.diagonal import diagonal_recurrence
from models.layer_parts import Recurrence, convolved, refuse_parts, short_convolution, write_map

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


class RotationRecurrence(Recurrence):
    """One head; the short convolution, if any, acts on the input pair (Re b, Im b)."""

    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "rotation")
        if layer.d_state % 2:
            raise ValueError(f"rotation d_state counts real coordinates of complex channels and must be even, "
                             f"got {layer.d_state}")
        self.d_state = layer.d_state
        self.channels = layer.d_state // 2
        self.exact = exact
        self.to_a = nn.Linear(d_model, self.d_state)  # (u, w) per channel: first half u, second half w
        self.to_b = nn.Linear(d_model, self.d_state)  # (Re b, Im b)
        self.out = write_map(self.d_state, d_model, layer, d_out)
        self.h0 = nn.Parameter(torch.zeros(self.d_state))  # (Re h0, Im h0)
        if not exact:  # moduli near 1 and small angles at initialisation
            with torch.no_grad():
                self.to_a.bias[: self.channels].fill_(3.0)
        self.conv = short_convolution(layer, self.d_state)
        self.add_output_parts(layer, self.d_state, d_model)

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step (two per complex channel)."""
        return self.d_state

    def _complex(self, pair: torch.Tensor) -> torch.Tensor:
        real = pair.to(torch.promote_types(pair.dtype, torch.float32))
        return torch.complex(real[..., : self.channels], real[..., self.channels:]).to(_COMPLEX[real.dtype])

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """Complex a_t for every position, (B, T, d_state / 2)."""
        pre = self.to_a(x)
        if self.exact:
            return self._complex(pre)  # Why: docs/architectures.md#complex-rotations
        u, w = pre[..., : self.channels], pre[..., self.channels:]
        return torch.polar(torch.sigmoid(u), w).to(_COMPLEX[torch.promote_types(pre.dtype, torch.float32)])

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_T as real coordinates [Re h, Im h], (B, T, d_state)."""
        a = self.gates(x)
        b = self._complex(convolved(self.conv, self.to_b(x)))
        h0 = self._complex(self.h0).expand(x.shape[0], self.channels)
        h = diagonal_recurrence(a, b, h0)
        return torch.cat([h.real, h.imag], dim=-1).to(x.dtype)

"""DeltaProduct (Siems et al. 2025; n_h = 1 is DeltaNet): a d_k x d_v state and n_h generalized Householder factors per
token, after an optional scalar decay; the exact path clamps beta (docs/architectures.md#householder-products)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kernels.delta_product import gated_delta_product
from models.config import LayerConfig
from models.diagonal import check_gate_range
from models.layer_parts import Recurrence, convolved, refuse_parts, short_convolution, write_map


class DeltaProductRecurrence(Recurrence):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False, d_out: int | None = None):
        super().__init__()
        refuse_parts(layer, "deltaproduct")
        if layer.n_h < 1 or layer.heads < 1:
            raise ValueError(f"deltaproduct needs n_h >= 1 and heads >= 1, got n_h = {layer.n_h}, "
                             f"heads = {layer.heads}")
        self.d_key = layer.d_state
        self.d_value = layer.d_value or layer.d_state
        self.n_h = layer.n_h
        self.heads = h = layer.heads
        self.exact = exact
        self.q_norm = layer.q_norm
        self.lo, self.hi = check_gate_range(layer.gate_range, (0.0, 2.0))
        self.to_q = nn.Linear(d_model, h * self.d_key)
        self.to_k = nn.Linear(d_model, self.n_h * h * self.d_key)
        self.to_v = nn.Linear(d_model, self.n_h * h * self.d_value)
        self.to_beta = nn.Linear(d_model, self.n_h * h)
        self.to_alpha = nn.Linear(d_model, h) if layer.gated else None
        self.out = write_map(h * self.d_value, d_model, layer, d_out)
        self.s0 = nn.Parameter(torch.zeros(h * self.d_key, self.d_value))  # the heads' initial states, stacked
        self.q_conv = short_convolution(layer, h * self.d_key)
        self.k_conv = short_convolution(layer, self.n_h * h * self.d_key)
        self.v_conv = short_convolution(layer, self.n_h * h * self.d_value)
        self.add_output_parts(layer, h * self.d_value, d_model)

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step: a d_k x d_v matrix per head."""
        return self.heads * self.d_key * self.d_value

    def factors(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q (B, T, H, d_k), keys (B, T, n_h, H, d_k), values (B, T, n_h, H, d_v), beta (B, T, n_h, H) and the
        log-decay (B, T, H) or None, as the recurrence uses them."""
        batch, length, _ = x.shape
        q = convolved(self.q_conv, self.to_q(x)).view(batch, length, self.heads, self.d_key)
        k = convolved(self.k_conv, self.to_k(x)).view(batch, length, self.n_h, self.heads, self.d_key)
        v = convolved(self.v_conv, self.to_v(x)).view(batch, length, self.n_h, self.heads, self.d_value)
        beta_pre = self.to_beta(x).view(batch, length, self.n_h, self.heads)
        if self.exact:
            beta = beta_pre.clamp(self.lo, self.hi)  # Why: docs/architectures.md#householder-products
        else:
            k = F.normalize(k, dim=-1)
            beta = self.lo + (self.hi - self.lo) * torch.sigmoid(beta_pre)
        if self.q_norm:
            q = F.normalize(q, dim=-1)
        log_alpha = None
        if self.to_alpha is not None:
            alpha_pre = self.to_alpha(x)
            log_alpha = alpha_pre.clamp(0.0, 1.0).log() if self.exact else F.logsigmoid(alpha_pre)
        return q, k, v, beta, log_alpha

    def initial_state(self, batch: int) -> torch.Tensor:
        """S_0 of every head, (B, H, d_k, d_v)."""
        return self.s0.view(self.heads, self.d_key, self.d_value).expand(batch, -1, -1, -1)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Matrix states S_1..S_T of every head, flattened row-major (head, key, value), (B, T, H * d_k * d_v)."""
        _, k, v, beta, log_alpha = self.factors(x)
        state = self.initial_state(x.shape[0])
        out = []
        for t in range(x.shape[1]):
            if log_alpha is not None:
                state = state * log_alpha[:, t].exp()[..., None, None]
            for j in range(self.n_h):
                key = k[:, t, j]
                predicted = torch.einsum("bhkv,bhk->bhv", state, key)
                state = state + torch.einsum("bhk,bhv->bhkv", key, beta[:, t, j, :, None] * (v[:, t, j] - predicted))
            out.append(state.reshape(x.shape[0], -1))
        return torch.stack(out, dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """o_t = S_t^T q_t of every head (times d_k^-1/2 with ``q_norm``), (B, T, H * d_v)."""
        q, k, v, beta, log_alpha = self.factors(x)
        batch, length, _ = x.shape
        rows = length * self.n_h
        o, _ = gated_delta_product(
            q, k.reshape(batch, rows, self.heads, self.d_key), v.reshape(batch, rows, self.heads, self.d_value),
            log_alpha, beta.reshape(batch, rows, self.heads), num_householder=self.n_h,
            scale=self.d_key ** -0.5 if self.q_norm else 1.0, initial_state=self.initial_state(batch))
        return o.reshape(batch, length, -1)

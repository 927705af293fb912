"""DeltaProduct (Siems et al. 2025, "DeltaProduct: Improving State-Tracking in Linear RNNs via Householder
Products"; n_h = 1 is DeltaNet): a matrix state S of d_k x d_v, and per token n_h generalized Householder
factors, each ``S <- (I - beta k k^T) S + beta k v^T``, optionally after a scalar decay ``S <- alpha S``;
the output is ``o_t = S_t^T q_t``.

Trained models L2-normalise the keys and squash ``beta = lo + (hi - lo) sigmoid(.)`` into
``LayerConfig.gate_range`` ([0, 1] for DeltaNet, [0, 2] for the negative-eigenvalue extension of
Grazzi et al. 2025), and ``alpha = sigmoid(.)``. The exact (compiled) path keeps the keys
unnormalised and clamps: ``beta = clamp(., lo, hi)``, ``alpha = clamp(., 0, 1)``. A factor then has
eigenvalue ``1 - beta |k|^2`` along k, so an unnormalised key ``e_i - e_j`` with beta = 1 is the
reflection swapping coordinates i and j (beta = 2 on the unit key), computed with integers only;
a certificate must check that ``beta |k|^2`` stays in the gate range for every factor reached.

``forward`` runs ``kernels.delta_product.gated_delta_product`` (fla's layout, one head); ``states``
steps the same recurrence in PyTorch, with the same per-factor update ``S += beta k (v - S^T k)^T``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kernels.delta_product import gated_delta_product
from models.config import LayerConfig
from models.diagonal import check_gate_range


class DeltaProductRecurrence(nn.Module):
    def __init__(self, d_model: int, layer: LayerConfig, exact: bool = False):
        super().__init__()
        if layer.n_h < 1:
            raise ValueError(f"deltaproduct needs n_h >= 1, got {layer.n_h}")
        self.d_key = layer.d_state
        self.d_value = layer.d_value or layer.d_state
        self.n_h = layer.n_h
        self.exact = exact
        self.lo, self.hi = check_gate_range(layer.gate_range, (0.0, 2.0))
        self.to_q = nn.Linear(d_model, self.d_key)
        self.to_k = nn.Linear(d_model, self.n_h * self.d_key)
        self.to_v = nn.Linear(d_model, self.n_h * self.d_value)
        self.to_beta = nn.Linear(d_model, self.n_h)
        self.to_alpha = nn.Linear(d_model, 1) if layer.gated else None
        self.out = nn.Linear(self.d_value, d_model)
        self.s0 = nn.Parameter(torch.zeros(self.d_key, self.d_value))

    @property
    def state_size(self) -> int:
        """Real numbers carried from step to step: the d_k x d_v matrix."""
        return self.d_key * self.d_value

    def factors(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q (B, T, d_k), keys (B, T, n_h, d_k), values (B, T, n_h, d_v), beta (B, T, n_h) and the
        log-decay (B, T) or None, as the recurrence uses them."""
        batch, length, _ = x.shape
        q = self.to_q(x)
        k = self.to_k(x).view(batch, length, self.n_h, self.d_key)
        v = self.to_v(x).view(batch, length, self.n_h, self.d_value)
        beta_pre = self.to_beta(x)
        if self.exact:
            beta = beta_pre.clamp(self.lo, self.hi)
        else:
            k = F.normalize(k, dim=-1)
            beta = self.lo + (self.hi - self.lo) * torch.sigmoid(beta_pre)
        log_alpha = None
        if self.to_alpha is not None:
            alpha_pre = self.to_alpha(x)[..., 0]
            log_alpha = alpha_pre.clamp(0.0, 1.0).log() if self.exact else F.logsigmoid(alpha_pre)
        return q, k, v, beta, log_alpha

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Matrix states S_1..S_T flattened row-major, (B, T, d_k * d_v)."""
        _, k, v, beta, log_alpha = self.factors(x)
        state = self.s0.expand(x.shape[0], self.d_key, self.d_value)
        out = []
        for t in range(x.shape[1]):
            if log_alpha is not None:
                state = state * log_alpha[:, t].exp()[:, None, None]
            for j in range(self.n_h):
                key = k[:, t, j]
                predicted = torch.einsum("bkv,bk->bv", state, key)
                state = state + torch.einsum("bk,bv->bkv", key, beta[:, t, j, None] * (v[:, t, j] - predicted))
            out.append(state.reshape(x.shape[0], -1))
        return torch.stack(out, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v, beta, log_alpha = self.factors(x)
        batch, length, _ = x.shape
        rows = length * self.n_h
        o, _ = gated_delta_product(
            q[:, :, None], k.reshape(batch, rows, 1, self.d_key), v.reshape(batch, rows, 1, self.d_value),
            None if log_alpha is None else log_alpha[..., None], beta.reshape(batch, rows, 1),
            num_householder=self.n_h, scale=1.0,
            initial_state=self.s0.expand(batch, 1, self.d_key, self.d_value))
        return self.out(o[:, :, 0])

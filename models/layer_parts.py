"""The parts flash-linear-attention's layers put around a recurrence (short causal convolution, per-head output
RMSNorm and SiLU gate) and the base class through which every recurrence writes back into the stream."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.config import LayerConfig
from models.registry import BLOCK_PARTS, FAMILY_PARTS

NORM_EPS = 1e-5  # fla's norm_eps default


class ShortConvolution(nn.Conv1d):
    """fla.modules.ShortConvolution without its cache: a causal depthwise convolution of width W over
    (B, T, C) followed by SiLU, ``y_t = silu(sum_k w[:, 0, k] x_{t-W+1+k})`` with x_s = 0 for s < 1; no bias."""

    def __init__(self, channels: int, width: int):
        super().__init__(channels, channels, width, groups=channels, padding=width - 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(super().forward(x.transpose(1, 2))[..., : x.shape[1]].transpose(1, 2))


def short_convolution(layer: LayerConfig, channels: int) -> ShortConvolution | None:
    """The convolution ``layer.conv`` asks for over ``channels``, or None."""
    return ShortConvolution(channels, layer.conv) if layer.conv else None


def convolved(conv: ShortConvolution | None, x: torch.Tensor) -> torch.Tensor:
    return x if conv is None else conv(x)


def write_map(width: int, d_model: int, layer: LayerConfig, d_out: int | None) -> nn.Linear:
    """A recurrence's output projection from ``width`` features: onto the whole stream with a bias, or (a ported
    layer, ``models.config.ModelConfig.ported``) onto the ``d_out`` channels it writes, with a bias only if
    ``layer.out_bias``."""
    return nn.Linear(width, d_model) if d_out is None else nn.Linear(width, d_out, bias=layer.out_bias)


_PLAIN = LayerConfig(d_state=0)


def refuse_parts(layer: LayerConfig, family: str) -> None:
    """ValueError naming the first part ``layer`` switches on that ``family``'s module does not have
    (``models.registry.FAMILY_PARTS``)."""
    for part in BLOCK_PARTS:
        if part not in FAMILY_PARTS[family] and getattr(layer, part) != getattr(_PLAIN, part):
            raise ValueError(f"{family} has no {part} part (got {part} = {getattr(layer, part)!r}); "
                             "docs/architectures.md lists each class's parts")


class Recurrence(nn.Module):
    """Base of every recurrence module: ``features(x)`` (B, T, F), by default the states, then per head an
    RMSNorm (``out_norm``), times ``silu(out_gate(x))`` (``out_gate``), then the ``out`` projection. Each
    subclass calls ``add_output_parts`` last in its constructor; with both parts off the forward pass is
    ``out(features(x))``, the plain block's."""

    out: nn.Linear

    def add_output_parts(self, layer: LayerConfig, width: int, d_model: int) -> None:
        """Register ``out_norm`` and ``out_gate`` (None when off) for features of ``width`` in ``layer.heads`` heads."""
        if layer.heads < 1 or width % layer.heads:
            raise ValueError(f"{layer.heads} heads do not divide the output width {width}")
        self.heads = layer.heads
        self.out_norm = nn.RMSNorm(width // layer.heads, eps=NORM_EPS) if layer.out_norm else None
        self.out_gate = nn.Linear(d_model, width, bias=False) if layer.out_gate else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.states(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.features(x)
        if self.out_norm is not None:
            y = self.out_norm(y.unflatten(-1, (self.heads, -1))).flatten(-2)
        if self.out_gate is not None:
            y = y * F.silu(self.out_gate(x))
        return self.out(y)

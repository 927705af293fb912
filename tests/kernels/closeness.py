"""Relative error used by the kernel tests: ||x - ref|| / ||ref||, as in the device METHOD notes."""
from __future__ import annotations

import torch


def rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    """||x - ref|| / ||ref|| in float64 (complex128); NaN anywhere gives NaN, which fails every bound."""
    wide = torch.complex128 if ref.is_complex() else torch.float64
    x64, r64 = x.detach().to("cpu", wide), ref.detach().to("cpu", wide)
    return float((x64 - r64).norm() / r64.norm().clamp_min(1e-30))

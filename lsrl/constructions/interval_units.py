"""Interval units for the GRU: each tracked point's image held as a one-hot, moved by two exact thresholds
(reset gate and candidate). Proof: docs/constructions.md#interval-units
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lsrl.constructions.and_units import SATURATE, TANH_SCALE, float32
from lsrl.constructions.layout import Subspace


@dataclass(frozen=True, eq=False)
class IntervalUnits:
    """Units (r, j) = [the prefix maps ``rows[r]`` to point j], index r * n_points + j; ``lo[a, j]`` and
    ``hi[a, j]`` bound the preimage of j under letter a (lo = n_points, hi = n_points - 1 when it is empty)."""

    rows: tuple[int, ...]
    lo: np.ndarray  # (n_symbols, n_points)
    hi: np.ndarray  # (n_symbols, n_points)

    @property
    def n_points(self) -> int:
        return int(self.lo.shape[1])

    @property
    def n_units(self) -> int:
        return len(self.rows) * self.n_points

    @property
    def code_size(self) -> int:
        return self.n_units

    def write(self, arch: str, rec: torch.nn.Module, symbols: Subspace, code: Subspace, nonlinearity: str) -> None:
        """Write the units into a GRU recurrence; ``code`` receives the bits (h + 1) / 2."""
        if arch != "gru":
            raise ValueError(f"interval units need a GRU's reset gate, not {arch}")
        n, width = self.n_points, self.n_units
        points = torch.arange(n, dtype=torch.float32)
        rows = torch.block_diag(*[torch.ones(n, n)] * len(self.rows))  # unit (r, j) reads row r
        index = rows * points.repeat(len(self.rows)) / 2  # idx_r = index @ h + n (n - 1) / 4
        index_offset = n * (n - 1) / 4
        lo, hi = float32(self.lo).T.repeat(len(self.rows), 1), float32(self.hi).T.repeat(len(self.rows), 1)
        reset, update, candidate = slice(0, width), slice(width, 2 * width), slice(2 * width, 3 * width)
        scale, cap = 2 * SATURATE, TANH_SCALE * n
        rec.weight_hh[reset] = scale * index
        rec.weight_ih[reset, symbols.slice] = -scale * lo
        rec.bias_ih[reset] = scale * (index_offset + 0.5)
        rec.bias_ih[update] = -SATURATE
        rec.weight_hh[candidate] = -TANH_SCALE * index
        rec.bias_hh[candidate] = cap - TANH_SCALE * index_offset
        rec.weight_ih[candidate, symbols.slice] = TANH_SCALE * hi
        rec.bias_ih[candidate] = TANH_SCALE * 0.5 - cap
        start = torch.zeros(width)
        start[[r * n + p for r, p in enumerate(self.rows)]] = 1.0
        rec.h0.copy_(2 * start - 1)
        rec.out.weight[code.slice] = torch.eye(width) / 2
        rec.out.bias[code.slice] = 0.5


def interval_units(letters: np.ndarray, rows: tuple[int, ...]) -> IntervalUnits | None:
    """Interval units for the letters' point maps (``letters[a, p]``: letter a's image of p), or None if some
    preimage is not an interval of the point order."""
    n_symbols, n = letters.shape
    lo, hi = np.full((n_symbols, n), n, np.int64), np.full((n_symbols, n), n - 1, np.int64)
    for a in range(n_symbols):
        for j in range(n):
            preimage = np.flatnonzero(letters[a] == j)
            if preimage.size == 0:
                continue
            if preimage[-1] - preimage[0] + 1 != preimage.size:
                return None
            lo[a, j], hi[a, j] = preimage[0], preimage[-1]
    return IntervalUnits(rows, lo, hi)

"""GRU backend (``models.gated_rnn``) as an exact threshold network: the LSTM backend's units held as h = 2 u - 1
(docs/compiler.md#why-the-gated-backends-are-exact)."""
from __future__ import annotations

from fractions import Fraction

from lsrl.compiler.backends import Layout, write_row
from lsrl.compiler.backends.lstm import SATURATE, ThresholdBackend, Units
from models.gated_rnn import GRURecurrence

TANH = 64  # tanh(+-64) is exactly +-1 in float32 and float64


class GruBackend(ThresholdBackend):
    name = arch = "gru"

    def write_units(self, m: GRURecurrence, units: Units, start: int, layout: Layout) -> None:
        n = m.d_state
        for j, unit in enumerate(units.units):
            g = start + j
            m.bias_ih[g] = SATURATE  # r = 1
            m.bias_ih[n + g] = -SATURATE  # z = 0: h' = n
            m.h0[g] = float(2 * unit.init - 1)
            # 64 (2 f + 1) with f = row + sum(c u_q) and u_q = (h_q + 1) / 2
            write_row(m.weight_ih, m.bias_ih, 2 * n + g, unit.row, layout, Fraction(2 * TANH))
            m.bias_ih[2 * n + g] += float(TANH + TANH * sum(unit.reads.values(), Fraction(0)))
            for q, coef in unit.reads.items():
                m.weight_hh[2 * n + g, start + q] = float(TANH * coef)

    def write_output(self, m: GRURecurrence, index: int, terms: dict[int, Fraction], const: Fraction) -> None:
        for g, coef in terms.items():
            m.out.weight[index, g] = float(coef / 2)
        offset = const + sum(terms.values(), Fraction(0)) / 2
        if offset:  # a ported output projection has a bias only where some output has a constant
            m.out.bias[index] += float(offset)

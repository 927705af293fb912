"""One-layer LSTM and GRU simulations of any DFA with saturated gates: Minsky's (state, symbol) pair units and a start
unit (``and_units``, state size n*k + 1), every gate exactly 0, 1 or -1 in float32 and float64
(docs/constructions.md#and-units)."""
from __future__ import annotations

import numpy as np

from automata.dfa import DFA
from lsrl.constructions.and_units import minsky
from lsrl.constructions.result import CompiledAutomaton


def lstm(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """Cells hold a saturating constant (f = 1, i = 0), so h = o exactly; the output gate of pair (q, a)
    is 1 iff the previous state was q and the symbol is a; the start unit's gate is 0."""
    return minsky("lstm", dfa, labels)


def gru(dfa: DFA, labels: np.ndarray | None = None) -> CompiledAutomaton:
    """z = 0 and r = 1 exactly, so h = tanh(W x + U h + c): the units are +-1 (bit b = (h + 1) / 2) and
    pair (q, a) is +1 iff the previous state was q and the symbol is a; the start unit goes to -1."""
    return minsky("gru", dfa, labels)

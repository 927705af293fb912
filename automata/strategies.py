"""Hypothesis strategies for users' own property tests: ``dfas(...)`` and ``strings(dfa, ...)``."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.generate import default_alphabet
from automata.minimize import minimize


@st.composite
def dfas(draw, min_states: int = 1, max_states: int = 8, min_symbols: int = 1, max_symbols: int = 3,
         minimal: bool = False) -> DFA:
    """Complete DFAs with random transitions and accepting sets; ``minimal=True`` minimises them
    (the result may then have fewer than ``min_states`` states)."""
    n = draw(st.integers(min_states, max_states))
    k = draw(st.integers(min_symbols, max_symbols))
    flat = draw(st.lists(st.integers(0, n - 1), min_size=n * k, max_size=n * k))
    accepting = draw(st.sets(st.integers(0, n - 1)))
    start = draw(st.integers(0, n - 1))
    dfa = DFA(default_alphabet(k), np.array(flat, dtype=np.int32).reshape(n, k), start, frozenset(accepting))
    return minimize(dfa) if minimal else dfa


def strings(dfa: DFA, min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[tuple[str, ...]]:
    """Words over the DFA's alphabet, as tuples of symbols."""
    return st.lists(st.sampled_from(dfa.alphabet), min_size=min_size, max_size=max_size).map(tuple)

"""Random DFA generation for tests and benchmarks."""
from __future__ import annotations

import numpy as np

from automata.dfa import DFA


def default_alphabet(n_symbols: int) -> tuple[str, ...]:
    """Symbols ``a, b, c, ...`` up to 26, then ``s26, s27, ...``."""
    return tuple(chr(ord("a") + j) if j < 26 else f"s{j}" for j in range(n_symbols))


def random_dfa(
    n_states: int,
    n_symbols: int,
    seed: int | np.random.Generator | None = None,
    accept_probability: float = 0.5,
    alphabet: tuple[str, ...] | None = None,
) -> DFA:
    """A DFA with uniformly random transitions and accepting states (not necessarily reachable
    or minimal: pass it through ``minimize`` for that)."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, n_states, size=(n_states, n_symbols), dtype=np.int32)
    accepting = np.flatnonzero(rng.random(n_states) < accept_probability)
    return DFA(alphabet or default_alphabet(n_symbols), table, 0, frozenset(accepting.tolist()))

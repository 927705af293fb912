"""Boolean operations on DFAs by the product construction, restricted to reachable pairs."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from automata.dfa import DFA
from automata.errors import AutomatonError


def product(left: DFA, right: DFA, accept: Callable[[bool, bool], bool]) -> DFA:
    """The reachable product automaton; a pair is accepting when ``accept(left_acc, right_acc)``.
    Both DFAs must share the alphabet (same symbols in the same order)."""
    if left.alphabet != right.alphabet:
        raise AutomatonError(f"alphabets differ: {left.alphabet!r} vs {right.alphabet!r}")
    m = right.n_states
    index = {left.start * m + right.start: 0}
    pairs = [left.start * m + right.start]
    rows: list[list[int]] = []
    for pair in pairs:  # grows while iterating: breadth-first over reachable pairs
        p, q = divmod(pair, m)
        succ = (left.delta[p].astype(np.int64) * m + right.delta[q]).tolist()
        row = []
        for s in succ:
            if s not in index:
                index[s] = len(pairs)
                pairs.append(s)
            row.append(index[s])
        rows.append(row)
    left_acc, right_acc = left.accepting_mask(), right.accepting_mask()
    accepting = frozenset(i for i, pair in enumerate(pairs)
                          if accept(bool(left_acc[pair // m]), bool(right_acc[pair % m])))
    names = tuple(f"({left.name(pair // m)},{right.name(pair % m)})" for pair in pairs)
    return DFA(left.alphabet, np.asarray(rows, dtype=np.int32), 0, accepting, names)


def intersection(left: DFA, right: DFA) -> DFA:
    return product(left, right, lambda x, y: x and y)


def union(left: DFA, right: DFA) -> DFA:
    return product(left, right, lambda x, y: x or y)


def difference(left: DFA, right: DFA) -> DFA:
    return product(left, right, lambda x, y: x and not y)


def symmetric_difference(left: DFA, right: DFA) -> DFA:
    return product(left, right, lambda x, y: x != y)


def complement(dfa: DFA) -> DFA:
    return dfa.complement()

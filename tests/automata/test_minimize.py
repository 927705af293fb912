import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.equivalence import find_counterexample
from automata.generate import random_dfa
from automata.minimize import equivalence_classes, is_minimal, minimize
from automata.strategies import dfas, strings


def moore_classes(dfa: DFA) -> np.ndarray:
    """Independent oracle: Moore's refinement to the fixed point."""
    classes = dfa.accepting_mask().astype(np.int64)
    while True:
        signature = np.column_stack([classes, classes[dfa.delta]])
        _, refined = np.unique(signature, axis=0, return_inverse=True)
        refined = refined.ravel()
        if refined.max() == classes.max():
            return refined
        classes = refined


def same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    return len(set(zip(x.tolist(), y.tolist()))) == len(set(x.tolist())) == len(set(y.tolist()))


@settings(max_examples=200, deadline=None)
@given(dfas(max_states=12, max_symbols=3), st.integers(0, 6))
def test_hopcroft_partition_is_myhill_nerode(dfa, moore_rounds):
    assert same_partition(equivalence_classes(dfa, moore_rounds=moore_rounds), moore_classes(dfa))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_minimize_preserves_language_and_is_minimal(data):
    dfa = data.draw(dfas(max_states=10, max_symbols=3))
    small = minimize(dfa)
    assert is_minimal(small)
    assert small.n_states <= len(dfa.reachable())
    for word in data.draw(st.lists(strings(dfa, max_size=25), max_size=20)):
        assert small.accepts(word) == dfa.accepts(word)
    assert find_counterexample(small, dfa) is None


def test_no_two_states_of_minimal_dfa_are_equivalent():
    small = minimize(random_dfa(300, 2, seed=3))
    for p in range(0, small.n_states, 37):
        for q in range(p + 1, small.n_states, 41):
            left = DFA(small.alphabet, small.delta, p, small.accepting)
            right = DFA(small.alphabet, small.delta, q, small.accepting)
            assert find_counterexample(left, right) is not None


def test_minimize_merges_equivalent_states():
    # Two copies of the parity automaton glued together: 4 states, 2 classes.
    table = np.array([[1, 0], [2, 1], [3, 2], [0, 3]], dtype=np.int32)
    dfa = DFA(("1", "0"), table, 0, frozenset({0, 2}))
    small = minimize(dfa)
    assert small.n_states == 2
    assert small.accepts("11") and not small.accepts("1") and small.accepts("0")


def test_minimize_long_chain_needs_hopcroft():
    n = 2000
    table = np.zeros((n, 2), dtype=np.int32)
    table[:, 0] = np.minimum(np.arange(n) + 1, n - 1)
    dfa = DFA(("a", "b"), table, 0, frozenset({n - 1}))
    assert minimize(dfa).n_states == n


def test_minimize_random_ten_thousand_states():
    # Speed is measured by bench/minimize.py; here only that the large case is handled right.
    dfa = random_dfa(10_000, 30, seed=0)
    small = minimize(dfa)
    assert is_minimal(small)
    assert same_partition(equivalence_classes(dfa), moore_classes(dfa))

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.errors import LsrlInputError
from automata.monoid import MonoidTooLarge, transition_monoid
from automata.strategies import dfas


def full_transformation_dfa(n: int) -> DFA:
    """A DFA whose transition monoid is the full transformation monoid T_n (n^n elements): an
    n-cycle, a transposition and a map of rank n - 1 generate it."""
    cycle = [(q + 1) % n for q in range(n)]
    swap = [1, 0, *range(2, n)]
    merge = [1, *range(1, n)]
    return DFA(("c", "t", "m"), np.array([cycle, swap, merge]).T, 0, frozenset({0}))


@st.composite
def permutation_dfas(draw, max_states: int = 5, max_symbols: int = 3) -> DFA:
    """DFAs whose letters all permute the states (their transition monoid is a group)."""
    n = draw(st.integers(1, max_states))
    k = draw(st.integers(1, max_symbols))
    letters = [draw(st.permutations(range(n))) for _ in range(k)]
    return DFA(tuple("abc"[:k]), np.array(letters, dtype=np.int32).T.reshape(n, k), 0, frozenset({0}))


def any_dfas(max_states: int, max_symbols: int) -> st.SearchStrategy[DFA]:
    return st.one_of(dfas(max_states=max_states, max_symbols=max_symbols),
                     permutation_dfas(max_states, max_symbols))


def apply_word(dfa: DFA, word: tuple[int, ...]) -> np.ndarray:
    """The transformation a word induces, state by state (the definition, without the monoid)."""
    states = np.arange(dfa.n_states)
    for a in word:
        states = dfa.delta[states, a]
    return states


def test_full_transformation_monoid_t5():
    monoid = transition_monoid(full_transformation_dfa(5))
    assert monoid.size == 5**5
    assert int(monoid.idempotents.sum()) == sum(  # C(n, r) images, r^(n-r) ways to map the rest
        len(list(itertools.combinations(range(5), r))) * r ** (5 - r) for r in range(1, 6))
    assert np.array_equal(monoid.transformations[monoid.identity], np.arange(5))
    assert monoid.word(monoid.identity) == ()


@pytest.mark.slow
def test_full_transformation_monoid_t6():
    monoid = transition_monoid(full_transformation_dfa(6))
    assert monoid.size == 6**6
    assert monoid.left.shape == (6**6, 3)


@settings(max_examples=40, deadline=None)
@given(any_dfas(max_states=5, max_symbols=3))
def test_words_realise_elements_and_cayley_graphs_are_products(dfa: DFA):
    monoid = transition_monoid(dfa)
    t = monoid.transformations.astype(np.int64)
    assert len({row.tobytes() for row in t}) == monoid.size
    for i in range(monoid.size):
        assert np.array_equal(apply_word(dfa, monoid.word_indices(i)), t[i])
        assert monoid.element_of(monoid.word_indices(i)) == i
    for a in range(dfa.n_symbols):
        assert np.array_equal(t[monoid.right[:, a]], dfa.delta[t, a])
        assert np.array_equal(t[monoid.left[:, a]], t[:, dfa.delta[:, a]])
    i, j = monoid.size // 2, monoid.size - 1
    assert np.array_equal(t[monoid.multiply(i, j)], t[j][t[i]])


@settings(max_examples=30, deadline=None)
@given(any_dfas(max_states=4, max_symbols=2))
def test_elements_are_exactly_the_word_transformations_with_shortlex_least_words(dfa: DFA):
    monoid = transition_monoid(dfa)
    depth = int(monoid.word_lengths.max()) + 1
    first_word: dict[bytes, tuple[int, ...]] = {}
    for length in range(depth + 1):  # shortlex order: by length, then lexicographically
        for word in itertools.product(range(dfa.n_symbols), repeat=length):
            first_word.setdefault(apply_word(dfa, word).astype(monoid.transformations.dtype).tobytes(), word)
    assert len(first_word) == monoid.size
    for i in range(monoid.size):
        assert first_word[monoid.transformations[i].tobytes()] == monoid.word_indices(i)


def test_group_path_agrees_with_the_generic_closure():
    letters = [(1, 2, 3, 4, 0), (1, 0, 2, 3, 4)]  # S_5 on 5 points
    group = transition_monoid(DFA(("c", "t"), np.array(letters).T, 0, frozenset({0})))
    assert group.is_group and group.size == 120 and len(group.lookup.base) == 4
    generic = transition_monoid(DFA(("c", "t", "m"), np.array(letters + [(1, 1, 2, 3, 4)]).T, 0, frozenset({0})))
    assert not generic.is_group
    units = {row.tobytes() for row in generic.transformations if len(set(row.tolist())) == 5}
    assert units == {row.tobytes() for row in group.transformations}


def test_max_elements_guard_is_a_clear_input_error():
    with pytest.raises(MonoidTooLarge, match=r"has too many elements \(more than --max-elements 1000; pass a larger "
                                             "--max-elements to go on") as info:
        transition_monoid(full_transformation_dfa(5), max_elements=1000)
    assert isinstance(info.value, LsrlInputError)


def test_empty_alphabet_gives_the_trivial_monoid():
    monoid = transition_monoid(DFA((), np.zeros((3, 0), dtype=np.int32), 0, frozenset()))
    assert monoid.size == 1
    assert monoid.right.shape == (1, 0)
    assert monoid.left.shape == (1, 0)

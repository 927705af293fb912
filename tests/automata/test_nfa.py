"""NFAs: the combinators accept the languages they claim, and the subset construction agrees with
direct simulation of the NFA on every short word."""
from __future__ import annotations

import itertools
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata import nfa as thompson
from automata.errors import AutomatonError, UnknownSymbol
from automata.minimize import minimize
from automata.nfa import NFA, determinize

AB = ("a", "b")


def words(alphabet: tuple[str, ...], max_length: int) -> list[tuple[str, ...]]:
    return [w for n in range(max_length + 1) for w in itertools.product(alphabet, repeat=n)]


SHORT = words(AB, 5)


@st.composite
def nfas(draw: st.DrawFn, max_states: int = 5, alphabet: tuple[str, ...] = AB) -> NFA:
    """Small random NFAs with epsilon moves (cycles included) and several start states."""
    n = draw(st.integers(1, max_states))
    states = st.integers(0, n - 1)
    targets = st.frozensets(states, max_size=3)
    transitions = draw(st.dictionaries(st.tuples(states, st.sampled_from(alphabet)), targets, max_size=2 * n))
    epsilon = draw(st.dictionaries(states, targets, max_size=n))
    start = draw(st.frozensets(states, max_size=2))
    accepting = draw(st.frozensets(states, max_size=n))
    return NFA(alphabet, n, start, accepting, transitions, epsilon)


def splits(word: tuple[str, ...]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    return [(word[:i], word[i:]) for i in range(len(word) + 1)]


def in_star(nfa: NFA, word: tuple[str, ...], at_least_one: bool) -> bool:
    """Whether ``word`` is in L(nfa)* (L(nfa)+ if ``at_least_one``), by dynamic programming over
    splits into non-empty pieces; the empty word is in L+ only when it is in L."""
    if not word:
        return not at_least_one or nfa.accepts(())
    ends = [False] * (len(word) + 1)
    ends[0] = True
    for j in range(1, len(word) + 1):
        ends[j] = any(ends[i] and nfa.accepts(word[i:j]) for i in range(j))
    return ends[-1]


@settings(max_examples=100, deadline=None)
@given(nfas())
def test_determinize_agrees_with_simulation(nfa: NFA) -> None:
    dfa = determinize(nfa)
    assert dfa.alphabet == nfa.alphabet
    for word in SHORT:
        assert dfa.accepts(word) == nfa.accepts(word), word


def reachable_subsets(nfa: NFA) -> set[frozenset[int]]:
    """The epsilon-closed subsets reachable from the start, by breadth-first search over ``step``."""
    first = nfa.epsilon_closure(nfa.start)
    seen = {first}
    queue = deque([first])
    while queue:
        subset = queue.popleft()
        for a in nfa.alphabet:
            succ = nfa.step(subset, a)
            if succ not in seen:
                seen.add(succ)
                queue.append(succ)
    return seen


@settings(max_examples=60, deadline=None)
@given(nfas())
def test_determinize_states_are_the_reachable_subsets(nfa: NFA) -> None:
    """One DFA state per reachable subset: the empty set (the sink) appears only when reachable."""
    dfa = determinize(nfa)
    subsets = reachable_subsets(nfa)
    assert dfa.n_states == len(subsets)
    named = {frozenset(int(q) for q in name.strip("{}").split(",") if q) for name in dfa.state_names}
    assert named == subsets
    assert dfa.start == 0 and dfa.state_names[0] == "{" + ",".join(map(str, sorted(nfa.epsilon_closure(nfa.start)))) + "}"
    assert len(dfa.reachable()) == dfa.n_states


def test_determinize_adds_a_sink_only_when_reachable() -> None:
    full = NFA(AB, 1, {0}, {0}, {(0, "a"): {0}, (0, "b"): {0}})
    assert determinize(full).n_states == 1
    partial = NFA(AB, 1, {0}, {0}, {(0, "a"): {0}})
    dfa = determinize(partial)
    assert dfa.n_states == 2 and dfa.state_names == ("{0}", "{}") and dfa.accepting == {0}
    assert determinize(NFA(AB, 2, set(), {0}, {})).state_names == ("{}",)


@settings(max_examples=40, deadline=None)
@given(nfas(max_states=4), nfas(max_states=4))
def test_concat_and_union(left: NFA, right: NFA) -> None:
    both = thompson.concat(left, right)
    either = thompson.union(left, right)
    for word in words(AB, 4):
        assert both.accepts(word) == any(left.accepts(u) and right.accepts(v) for u, v in splits(word))
        assert either.accepts(word) == (left.accepts(word) or right.accepts(word))


@settings(max_examples=40, deadline=None)
@given(nfas(max_states=4))
def test_star_plus_optional(nfa: NFA) -> None:
    for word in words(AB, 4):
        assert thompson.star(nfa).accepts(word) == in_star(nfa, word, at_least_one=False), word
        assert thompson.plus(nfa).accepts(word) == in_star(nfa, word, at_least_one=True), word
        assert thompson.optional(nfa).accepts(word) == (word == () or nfa.accepts(word)), word


def test_star_does_not_accept_a_partial_loop() -> None:
    """``(a*b)*`` must reject ``a``: a star that made the start accepting in place would accept it."""
    a_star_b = thompson.concat(thompson.star(thompson.symbol(AB, "a")), thompson.symbol(AB, "b"))
    loop = thompson.star(a_star_b)
    assert [w for w in words(AB, 3) if loop.accepts(w)] == [(), ("b",), ("a", "b"), ("b", "b"), ("a", "a", "b"),
                                                            ("a", "b", "b"), ("b", "a", "b"), ("b", "b", "b")]


def test_basic_languages() -> None:
    assert [w for w in SHORT if thompson.empty_string(AB).accepts(w)] == [()]
    assert not any(thompson.empty_language(AB).accepts(w) for w in SHORT)
    assert [w for w in SHORT if thompson.symbol(AB, "a", "b").accepts(w)] == [("a",), ("b",)]
    assert not any(thompson.symbol(AB).accepts(w) for w in SHORT)
    assert thompson.concat(thompson.symbol(AB, "a")) == thompson.symbol(AB, "a")


def test_validation() -> None:
    with pytest.raises(AutomatonError, match="outside the alphabet"):
        NFA(AB, 1, {0}, set(), {(0, "c"): {0}})
    with pytest.raises(AutomatonError, match="state 2"):
        NFA(AB, 2, {0}, set(), {}, {0: {2}})
    with pytest.raises(AutomatonError, match="repeated"):
        NFA(("a", "a"), 1, {0}, set(), {})
    with pytest.raises(AutomatonError, match="different alphabets"):
        thompson.union(thompson.symbol(AB, "a"), thompson.symbol(("a",), "a"))
    with pytest.raises(UnknownSymbol, match="'c' at position 1"):
        thompson.symbol(AB, "a").accepts("ac")


def test_equality_ignores_empty_target_sets() -> None:
    one = NFA(AB, 2, {0}, {1}, {(0, "a"): {1}, (1, "b"): set()}, {1: set()})
    two = NFA(AB, 2, [0], [1], {(0, "a"): [1]})
    assert one == two and hash(one) == hash(two)
    assert one != NFA(AB, 2, {0}, {1}, {(0, "b"): {1}})


def test_multi_character_symbols() -> None:
    alphabet = ("x1", "x2")
    nfa = thompson.plus(thompson.symbol(alphabet, "x1"))
    dfa = determinize(nfa)
    assert dfa.accepts(["x1", "x1"]) and not dfa.accepts(["x1", "x2"]) and not dfa.accepts([])


def test_subset_blow_up_is_exact() -> None:
    """``(a|b)*a(a|b)^n`` needs all 2^(n+1) subsets (the classic lower bound for determinisation),
    plus the start set, which lacks the state that ``(a|b)`` ends in and so differs from the set after ``b``."""
    n = 7
    any_symbol = thompson.symbol(AB, *AB)
    nfa = thompson.concat(thompson.star(any_symbol), thompson.symbol(AB, "a"), *[any_symbol] * n)
    dfa = determinize(nfa)
    assert dfa.n_states == 2 ** (n + 1) + 1
    assert minimize(dfa).n_states == 2 ** (n + 1)
    for word in words(AB, n + 3):
        assert dfa.accepts(word) == (len(word) > n and word[-n - 1] == "a")

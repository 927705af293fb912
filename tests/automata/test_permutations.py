from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.permutations import compose, cycle_notation, cycles, element_order, from_cycles, identity, inverse, sign

perms = st.integers(1, 7).flatmap(lambda n: st.permutations(range(n)).map(tuple))
perm_triples = st.integers(1, 7).flatmap(
    lambda n: st.tuples(*[st.permutations(range(n)).map(tuple)] * 3))


@given(perm_triples)
@settings(max_examples=60, deadline=None)
def test_compose_applies_left_then_right_and_is_associative(ps):
    p, q, r = ps
    assert all(compose(p, q)[x] == q[p[x]] for x in range(len(p)))
    assert compose(compose(p, q), r) == compose(p, compose(q, r))
    assert compose(p, inverse(p)) == identity(len(p)) == compose(inverse(p), p)


@given(perms)
@settings(max_examples=60, deadline=None)
def test_cycles_round_trip_and_invariants(p):
    assert from_cycles(len(p), *cycles(p)) == p
    k = element_order(p)
    power = identity(len(p))
    for step in range(1, k + 1):
        power = compose(power, p)
        assert (power == identity(len(p))) == (step == k)
    inversions = sum(p[i] > p[j] for i, j in itertools.combinations(range(len(p)), 2))
    assert sign(p) == (-1) ** inversions


def test_cycle_notation_is_one_based_gap_style():
    assert cycle_notation(from_cycles(5, (0, 1, 2), (3, 4))) == "(1,2,3)(4,5)"
    assert cycle_notation(from_cycles(5, (4, 2))) == "(3,5)"
    assert cycle_notation(identity(4)) == "e"
    with pytest.raises(ValueError):
        from_cycles(3, (0, 1), (1, 2))

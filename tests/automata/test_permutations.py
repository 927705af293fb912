from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.errors import AutomatonError, MissingTransition
from automata.permutations import (
    PermutationGroup,
    alternating_group,
    compose,
    cycle_notation,
    cycles,
    cyclic_group,
    dihedral_group,
    element_order,
    from_cycles,
    generate_group,
    identity,
    inverse,
    klein_four_group,
    quaternion_group,
    sign,
    symmetric_group,
)

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


@pytest.mark.parametrize("generators, order", [
    ([from_cycles(5, (0, 1)), from_cycles(5, (0, 1, 2, 3, 4))], 120),
    ([from_cycles(5, (0, 1, 2)), from_cycles(5, (2, 3, 4))], 60),
    ([from_cycles(4, (0, 1, 2, 3)), from_cycles(4, (1, 3))], 8),
    ([from_cycles(6, (0, 1, 2, 3, 4, 5))], 6),
    ([from_cycles(4, (0, 1, 2)), from_cycles(4, (0, 1), (2, 3))], 12),
])
def test_generate_group_orders(generators, order):
    group = generate_group(generators)
    assert len(group) == len(set(group)) == order
    assert group[0] == identity(len(generators[0]))
    assert all(compose(g, h) in set(group) for g in group for h in generators)


@pytest.mark.parametrize("group, order", [
    (cyclic_group(7), 7), (klein_four_group(), 4), (dihedral_group(3), 6), (dihedral_group(4), 8),
    (dihedral_group(5), 10), (quaternion_group(), 8), (symmetric_group(3), 6), (symmetric_group(4), 24),
    (symmetric_group(5), 120), (alternating_group(4), 12), (alternating_group(5), 60),
])
def test_named_groups_are_groups_of_the_right_order(group, order):
    assert group.order == order
    elements = set(group.elements)
    assert group.elements[group.identity_index] == identity(group.degree) and group.identity_index == 0
    assert all(compose(g, h) in elements for g in group.elements for h in group.elements)
    assert all(inverse(g) in elements for g in group.elements)


def test_symmetric_and_alternating_groups_are_all_and_the_even_permutations():
    assert set(symmetric_group(4).elements) == set(itertools.permutations(range(4)))
    assert set(alternating_group(5).elements) == {p for p in itertools.permutations(range(5)) if sign(p) == 1}


def test_groups_are_distinguished_by_their_invariants():
    def involutions(group):
        return sum(element_order(g) == 2 for g in group.elements)

    def abelian(group):
        return all(compose(g, h) == compose(h, g) for g in group.elements for h in group.elements)

    assert (involutions(quaternion_group()), abelian(quaternion_group())) == (1, False)
    assert (involutions(dihedral_group(4)), abelian(dihedral_group(4))) == (5, False)
    assert (involutions(klein_four_group()), abelian(klein_four_group())) == (3, True)


@pytest.mark.parametrize("group", [cyclic_group(6), klein_four_group(), dihedral_group(5), quaternion_group(),
                                   symmetric_group(4), alternating_group(5)])
def test_multiplication_table_matches_composition(group):
    table = group.multiplication_table()
    for i, g in enumerate(group.elements):
        for j, h in enumerate(group.elements):
            assert group.elements[table[i, j]] == compose(g, h)


def quaternion_product(x, y):
    """Hamilton's product of integer quaternions (a, b, c, d) = a + bi + cj + dk."""
    a1, b1, c1, d1 = x
    a2, b2, c2, d2 = y
    return (a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2, a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2, a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2)


def test_quaternion_names_follow_hamilton():
    units = {"1": (1, 0, 0, 0), "i": (0, 1, 0, 0), "j": (0, 0, 1, 0), "k": (0, 0, 0, 1)}
    units.update({"-" + name: tuple(-v for v in q) for name, q in list(units.items())})
    group = quaternion_group()
    for i, x in enumerate(group.names):
        for j, y in enumerate(group.names):
            assert units[group.names[group.multiply(i, j)]] == quaternion_product(units[x], units[y])


def test_dihedral_names_follow_the_polygon_formulas():
    n = 6
    group = dihedral_group(n)

    def act(name, x):
        i = int(name[1:])
        return (x + i) % n if name[0] == "r" else (i - x) % n

    for i, x in enumerate(group.names):
        for j, y in enumerate(group.names):
            product = group.names[group.multiply(i, j)]
            assert all(act(product, v) == act(y, act(x, v)) for v in range(n))


def test_cayley_dfa_multiplies_prefixes():
    group = symmetric_group(4)
    dfa = group.cayley_dfa()
    assert dfa.n_states == dfa.n_symbols == 24 and dfa.alphabet == group.names
    assert dfa.accepting == {dfa.start} and group.elements[dfa.start] == identity(4)
    rng = np.random.default_rng(0)
    word = rng.integers(0, 24, size=30)
    product = identity(4)
    for a, state in zip(word, dfa.trace(word)):
        product = compose(product, group.elements[a])
        assert group.elements[state] == product
    assert all(sorted(column) == list(range(24)) for column in dfa.delta.T)


def test_not_closed_and_malformed_groups_are_rejected():
    bad = PermutationGroup("bad", (identity(3), from_cycles(3, (0, 1, 2))), ("e", "x"))
    with pytest.raises(MissingTransition):
        bad.multiplication_table()
    with pytest.raises(AutomatonError):
        PermutationGroup("no identity", (from_cycles(2, (0, 1)),), ("x",))
    with pytest.raises(AutomatonError):
        PermutationGroup("names", (identity(2), from_cycles(2, (0, 1))), ("x", "x"))
    with pytest.raises(ValueError):
        dihedral_group(2)


def test_large_groups_have_the_right_order():
    assert alternating_group(6).order == math.factorial(6) // 2
    table = symmetric_group(5).multiplication_table()
    assert all(sorted(row) == list(range(120)) for row in table)

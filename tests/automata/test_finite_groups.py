from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.combinatorics import Permutation as SympyPermutation
from sympy.combinatorics import PermutationGroup as SympyGroup

from automata.errors import AutomatonError, MissingTransition
from automata.finite_groups import (
    FiniteGroup,
    alternating_group,
    cyclic_group,
    dihedral_group,
    klein_four_group,
    quaternion_group,
    symmetric_group,
)
from automata.permutations import compose, element_order, from_cycles, identity, inverse, sign


def sl25() -> FiniteGroup:
    """SL(2,5) acting on the 24 non-zero vectors of F_5^2: perfect but not simple (centre Z_2)."""
    vectors = [v for v in itertools.product(range(5), repeat=2) if v != (0, 0)]
    index = {v: i for i, v in enumerate(vectors)}

    def action(matrix):
        (a, b), (c, d) = matrix
        return [index[((a * x + b * y) % 5, (c * x + d * y) % 5)] for x, y in vectors]

    return FiniteGroup.generated_by([action(((1, 1), (0, 1))), action(((0, 4), (1, 0)))])


KNOWN = {  # name: (group, order, abelian, solvable, 2-group, composition factors top-down)
    "S5": (symmetric_group(5), 120, False, False, False, ("Z_2", "A_5")),
    "A5": (alternating_group(5), 60, False, False, False, ("A_5",)),
    "S4": (symmetric_group(4), 24, False, True, False, ("Z_2", "Z_3", "Z_2", "Z_2")),
    "A4": (alternating_group(4), 12, False, True, False, ("Z_3", "Z_2", "Z_2")),
    "Q8": (quaternion_group(), 8, False, True, True, ("Z_2", "Z_2", "Z_2")),
    "D4": (dihedral_group(4), 8, False, True, True, ("Z_2", "Z_2", "Z_2")),
    "Z6": (cyclic_group(6), 6, True, True, False, ("Z_2", "Z_3")),
    "Z4": (cyclic_group(4), 4, True, True, True, ("Z_2", "Z_2")),
}


@pytest.mark.parametrize("name", KNOWN)
def test_known_groups(name):
    source, order, abelian, solvable, two_group, factors = KNOWN[name]
    group = FiniteGroup.from_elements(source.elements)
    assert group.order == order
    assert group.is_abelian == abelian
    assert group.is_solvable == solvable
    assert group.is_p_group(2) == two_group
    assert group.composition_factors() == factors


def test_derived_series_of_s4_and_s5():
    s4 = FiniteGroup.from_elements(symmetric_group(4).elements)
    assert [g.order for g in s4.derived_series()] == [24, 12, 4, 1]
    s5 = FiniteGroup.from_elements(symmetric_group(5).elements)
    assert [g.order for g in s5.derived_series()] == [120, 60]


def test_perfect_but_not_simple_group_is_split_by_a_maximal_normal_subgroup():
    group = sl25()
    assert group.order == 120 and group.derived_subgroup().order == 120
    assert group.maximal_normal_subgroup().order == 2
    assert group.composition_factors() == ("A_5", "Z_2")


def test_direct_product_of_two_a5():
    a5_generators = (from_cycles(5, (0, 1, 2)), from_cycles(5, (0, 1, 2, 3, 4)))
    left = [p + tuple(range(5, 10)) for p in a5_generators]
    right = [tuple(range(5)) + tuple(5 + x for x in p) for p in a5_generators]
    group = FiniteGroup.generated_by(left + right)
    assert group.order == 60**2
    assert group.composition_factors() == ("A_5", "A_5")


def test_psl27_and_a6_are_named():
    infinity = 7  # PSL(2,7) on the projective line over F_7: x + 1, 2x and -1/x

    def moebius(f):
        return tuple(f(x) for x in range(8))

    psl27 = FiniteGroup.generated_by([
        moebius(lambda x: infinity if x == infinity else (x + 1) % 7),
        moebius(lambda x: infinity if x == infinity else 2 * x % 7),
        moebius(lambda x: 0 if x == infinity else infinity if x == 0 else (-pow(x, -1, 7)) % 7)])
    assert psl27.order == 168 and psl27.composition_factors() == ("PSL(2,7)",)
    a6 = FiniteGroup.from_elements(alternating_group(6).elements)
    assert a6.composition_factors() == ("A_6",)


def test_element_orders_match_cycle_lengths():
    source = symmetric_group(5)
    group = FiniteGroup.from_elements(source.elements)
    assert group.element_orders.tolist() == [element_order(p) for p in source.elements]
    assert group.exponent == 60


def test_invalid_element_lists_are_rejected_naming_the_group():
    with pytest.raises(MissingTransition, match="group C3 is not closed: .* not an element"):
        FiniteGroup.from_elements([(0, 1, 2), (1, 2, 0)], "C3")  # a 3-cycle without its square
    with pytest.raises(AutomatonError, match="group G: the first element must be the identity"):
        FiniteGroup.from_elements([(1, 0), (0, 1)])
    with pytest.raises(AutomatonError, match="permutation"):
        FiniteGroup.from_elements([(0, 1), (0, 0)])
    with pytest.raises(AutomatonError, match="distinct"):
        FiniteGroup.from_elements([(0, 1), (1, 0), (1, 0)])
    with pytest.raises(AutomatonError, match="group names needs one distinct name per element"):
        FiniteGroup.from_elements([identity(2), from_cycles(2, (0, 1))], "names", ("x", "x"))
    with pytest.raises(ValueError):
        dihedral_group(2)


def test_coset_action_of_s5_on_cosets_of_s4_is_the_natural_action():
    s5 = FiniteGroup.from_elements(symmetric_group(5).elements)
    stabiliser = s5.elements[:, 4] == 4
    assert s5.is_core_free(stabiliser)
    action = s5.coset_action(stabiliser, list(s5.generators))
    assert action.shape[1] == 5
    assert FiniteGroup.generated_by(action).order == 120
    assert not s5.is_core_free(s5.elements[:, :].sum(axis=1) >= 0)  # the whole group


def test_core_free_search_finds_index_5_in_the_regular_representation_of_s5():
    regular = FiniteGroup.from_elements(np.asarray(symmetric_group(5).multiplication_table()))
    masks = regular.large_core_free_subgroups()
    assert {int(m.sum()) for m in masks} == {24}
    q8 = FiniteGroup.from_elements(quaternion_group().elements)
    assert [int(m.sum()) for m in q8.large_core_free_subgroups()] == [1]  # every subgroup holds -1


@st.composite
def subgroups_of_s6(draw) -> list[tuple[int, ...]]:
    k = draw(st.integers(1, 3))
    return [tuple(draw(st.permutations(range(6)))) for _ in range(k)]


@settings(max_examples=25, deadline=None)
@given(subgroups_of_s6())
def test_random_subgroups_of_s6_agree_with_sympy(generators):
    group = FiniteGroup.generated_by(generators)
    reference = SympyGroup([SympyPermutation(list(g)) for g in generators])
    assert group.order == reference.order()
    assert group.is_abelian == reference.is_abelian
    assert group.is_solvable == reference.is_solvable
    assert [g.order for g in group.derived_series()] == [g.order() for g in reference.derived_series()]
    factors = group.composition_factors()
    orders = [int(f.removeprefix("Z_")) if f.startswith("Z_") else {"A_5": 60, "A_6": 360}[f] for f in factors]
    assert int(np.prod(orders)) == group.order
    if reference.is_solvable:  # sympy computes composition series of solvable groups only
        series = reference.composition_series()
        assert Counter(orders) == Counter(series[i].order() // series[i + 1].order() for i in range(len(series) - 1))
    else:
        assert any(f.startswith("A_") for f in factors)
    assert group.is_p_group() == (len(sympy.factorint(group.order)) <= 1)
    derived = group.derived_subgroup()
    for g in group.generators:
        assert all(derived.contains(c) for c in
                   group.elements[group.conjugate(group.index(derived.elements), g)])


def as_tuples(group: FiniteGroup) -> list[tuple[int, ...]]:
    return [tuple(p) for p in group.elements.tolist()]


@pytest.mark.parametrize("generators, order", [
    ([from_cycles(5, (0, 1)), from_cycles(5, (0, 1, 2, 3, 4))], 120),
    ([from_cycles(5, (0, 1, 2)), from_cycles(5, (2, 3, 4))], 60),
    ([from_cycles(4, (0, 1, 2, 3)), from_cycles(4, (1, 3))], 8),
    ([from_cycles(6, (0, 1, 2, 3, 4, 5))], 6),
    ([from_cycles(4, (0, 1, 2)), from_cycles(4, (0, 1), (2, 3))], 12),
])
def test_generated_groups_are_closed_breadth_first_from_the_identity(generators, order):
    group = as_tuples(FiniteGroup.generated_by(generators))
    assert len(group) == len(set(group)) == order
    assert group[0] == identity(len(generators[0]))
    assert all(compose(g, h) in set(group) for g in group for h in generators)
    for k, g in enumerate(group[1:], 1):  # breadth-first: each element is an earlier one times a generator
        assert any(compose(f, h) == g for f in group[:k] for h in generators)


@pytest.mark.parametrize("group, order", [
    (cyclic_group(7), 7), (klein_four_group(), 4), (dihedral_group(3), 6), (dihedral_group(4), 8),
    (dihedral_group(5), 10), (quaternion_group(), 8), (symmetric_group(3), 6), (symmetric_group(4), 24),
    (symmetric_group(5), 120), (alternating_group(4), 12), (alternating_group(5), 60),
])
def test_named_groups_are_groups_of_the_right_order(group, order):
    assert group.order == order and len(group.names) == len(set(group.names)) == order
    elements = as_tuples(group)
    assert elements[0] == identity(group.degree)
    assert all(compose(g, h) in set(elements) for g in elements for h in elements)
    assert all(inverse(g) in set(elements) for g in elements)


def test_symmetric_and_alternating_groups_are_all_and_the_even_permutations():
    assert as_tuples(symmetric_group(4)) == list(itertools.permutations(range(4)))
    assert set(as_tuples(alternating_group(5))) == {p for p in itertools.permutations(range(5)) if sign(p) == 1}
    assert symmetric_group(3).names == ("e", "(2,3)", "(1,2)", "(1,2,3)", "(1,3,2)", "(1,3)")


def test_groups_are_distinguished_by_their_invariants():
    def involutions(group):
        return sum(element_order(g) == 2 for g in as_tuples(group))

    assert (involutions(quaternion_group()), quaternion_group().is_abelian) == (1, False)
    assert (involutions(dihedral_group(4)), dihedral_group(4).is_abelian) == (5, False)
    assert (involutions(klein_four_group()), klein_four_group().is_abelian) == (3, True)


@pytest.mark.parametrize("group", [cyclic_group(6), klein_four_group(), dihedral_group(5), quaternion_group(),
                                   symmetric_group(4), alternating_group(5)])
def test_multiplication_table_matches_composition(group):
    table, elements = group.multiplication_table(), as_tuples(group)
    assert table.dtype == np.int32 and not table.flags.writeable
    for i, g in enumerate(elements):
        for j, h in enumerate(elements):
            assert elements[table[i, j]] == compose(g, h) and group.multiply(i, j) == table[i, j]


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
    elements = as_tuples(group)
    dfa = group.cayley_dfa()
    assert dfa.n_states == dfa.n_symbols == 24 and dfa.alphabet == group.names
    assert dfa.accepting == {dfa.start} and elements[dfa.start] == identity(4)
    word = np.random.default_rng(0).integers(0, 24, size=30)
    product = identity(4)
    for a, state in zip(word, dfa.trace(word)):
        product = compose(product, elements[a])
        assert elements[state] == product
    assert all(sorted(column) == list(range(24)) for column in dfa.delta.T)


def test_large_groups_have_the_right_order():
    assert alternating_group(6).order == math.factorial(6) // 2
    table = symmetric_group(5).multiplication_table()
    assert all(sorted(row) == list(range(120)) for row in table)

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.combinatorics import Permutation as SympyPermutation
from sympy.combinatorics import PermutationGroup as SympyGroup

from automata import permutations as perms
from automata.finite_groups import FiniteGroup


def sl25() -> FiniteGroup:
    """SL(2,5) acting on the 24 non-zero vectors of F_5^2: perfect but not simple (centre Z_2)."""
    vectors = [v for v in itertools.product(range(5), repeat=2) if v != (0, 0)]
    index = {v: i for i, v in enumerate(vectors)}

    def action(matrix):
        (a, b), (c, d) = matrix
        return [index[((a * x + b * y) % 5, (c * x + d * y) % 5)] for x, y in vectors]

    return FiniteGroup.generated_by([action(((1, 1), (0, 1))), action(((0, 4), (1, 0)))])


KNOWN = {  # name: (group, order, abelian, solvable, 2-group, composition factors top-down)
    "S5": (perms.symmetric_group(5), 120, False, False, False, ("Z_2", "A_5")),
    "A5": (perms.alternating_group(5), 60, False, False, False, ("A_5",)),
    "S4": (perms.symmetric_group(4), 24, False, True, False, ("Z_2", "Z_3", "Z_2", "Z_2")),
    "A4": (perms.alternating_group(4), 12, False, True, False, ("Z_3", "Z_2", "Z_2")),
    "Q8": (perms.quaternion_group(), 8, False, True, True, ("Z_2", "Z_2", "Z_2")),
    "D4": (perms.dihedral_group(4), 8, False, True, True, ("Z_2", "Z_2", "Z_2")),
    "Z6": (perms.cyclic_group(6), 6, True, True, False, ("Z_2", "Z_3")),
    "Z4": (perms.cyclic_group(4), 4, True, True, True, ("Z_2", "Z_2")),
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
    s4 = FiniteGroup.from_elements(perms.symmetric_group(4).elements)
    assert [g.order for g in s4.derived_series()] == [24, 12, 4, 1]
    s5 = FiniteGroup.from_elements(perms.symmetric_group(5).elements)
    assert [g.order for g in s5.derived_series()] == [120, 60]


def test_perfect_but_not_simple_group_is_split_by_a_maximal_normal_subgroup():
    group = sl25()
    assert group.order == 120 and group.derived_subgroup().order == 120
    assert group.maximal_normal_subgroup().order == 2
    assert group.composition_factors() == ("A_5", "Z_2")


def test_direct_product_of_two_a5():
    a5_generators = (perms.from_cycles(5, (0, 1, 2)), perms.from_cycles(5, (0, 1, 2, 3, 4)))
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
    a6 = FiniteGroup.from_elements(perms.alternating_group(6).elements)
    assert a6.composition_factors() == ("A_6",)


def test_element_orders_match_cycle_lengths():
    source = perms.symmetric_group(5)
    group = FiniteGroup.from_elements(source.elements)
    assert group.element_orders.tolist() == [perms.element_order(p) for p in source.elements]
    assert group.exponent == 60


def test_invalid_element_lists_are_rejected():
    with pytest.raises(ValueError, match="not an element"):
        FiniteGroup.from_elements([(0, 1, 2), (1, 2, 0)])  # a 3-cycle without its square
    with pytest.raises(ValueError, match="identity"):
        FiniteGroup.from_elements([(1, 0), (0, 1)])
    with pytest.raises(ValueError, match="permutation"):
        FiniteGroup.from_elements([(0, 1), (0, 0)])


def test_coset_action_of_s5_on_cosets_of_s4_is_the_natural_action():
    s5 = FiniteGroup.from_elements(perms.symmetric_group(5).elements)
    stabiliser = s5.elements[:, 4] == 4
    assert s5.is_core_free(stabiliser)
    action = s5.coset_action(stabiliser, list(s5.generators))
    assert action.shape[1] == 5
    assert FiniteGroup.generated_by(action).order == 120
    assert not s5.is_core_free(s5.elements[:, :].sum(axis=1) >= 0)  # the whole group


def test_core_free_search_finds_index_5_in_the_regular_representation_of_s5():
    regular = FiniteGroup.from_elements(np.asarray(perms.symmetric_group(5).multiplication_table()))
    masks = regular.large_core_free_subgroups()
    assert {int(m.sum()) for m in masks} == {24}
    q8 = FiniteGroup.from_elements(perms.quaternion_group().elements)
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

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.dfa import DFA
from automata.green import green_structure, strongly_connected_components
from automata.monoid import transition_monoid
from tests.automata.test_monoid import any_dfas, full_transformation_dfa


def reachability(successors: np.ndarray) -> np.ndarray:
    """Reflexive-transitive closure of a graph by repeated boolean squaring (the definition)."""
    n = successors.shape[0]
    reach = np.eye(n, dtype=bool)
    reach[np.repeat(np.arange(n), successors.shape[1]), successors.ravel()] = True
    while True:
        step = (reach.astype(np.float32) @ reach.astype(np.float32)) > 0
        if np.array_equal(step, reach):
            return reach
        reach = step


def same_class(labels: np.ndarray) -> np.ndarray:
    return labels[:, None] == labels[None, :]


def stirling2(n: int, r: int) -> int:
    return sum((-1) ** (r - j) * math.comb(r, j) * j**n for j in range(r + 1)) // math.factorial(r)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, 3), st.lists(st.integers(0, n - 1), min_size=3 * n, max_size=3 * n))))
def test_scc_labels_are_mutual_reachability(graph):
    n, k, flat = graph
    successors = np.array(flat[: n * k], dtype=np.int64).reshape(n, k)
    reach = reachability(successors)
    labels = strongly_connected_components(successors)
    assert np.array_equal(same_class(labels), reach & reach.T)
    assert labels[0] == 0 and set(labels.tolist()) == set(range(int(labels.max()) + 1))


def test_green_structure_of_the_full_transformation_monoid_t4():
    n = 4
    green = green_structure(transition_monoid(full_transformation_dfa(n)))
    # In T_n, R-classes are kernels (set partitions), L-classes are images, D-classes are ranks.
    assert int(green.r_class.max()) + 1 == sum(stirling2(n, r) for r in range(1, n + 1))
    assert int(green.l_class.max()) + 1 == 2**n - 1
    assert int(green.d_class.max()) + 1 == n
    groups = green.maximal_subgroups()
    assert sorted(g.order for g in groups) == [math.factorial(r) for r in range(1, n + 1)]
    assert not green.is_aperiodic


@settings(max_examples=40, deadline=None)
@given(any_dfas(max_states=4, max_symbols=3))
def test_d_classes_are_j_classes(dfa: DFA):
    monoid = transition_monoid(dfa)
    green = green_structure(monoid)
    both = np.concatenate([monoid.right, monoid.left], axis=1)
    reach = reachability(both)  # m J n iff each lies in the other's two-sided ideal
    assert np.array_equal(same_class(green.d_class), reach & reach.T)
    assert np.array_equal(same_class(green.h_class), same_class(green.r_class) & same_class(green.l_class))


@settings(max_examples=40, deadline=None)
@given(any_dfas(max_states=5, max_symbols=3))
def test_h_classes_of_idempotents_are_groups(dfa: DFA):
    monoid = transition_monoid(dfa)
    green = green_structure(monoid)
    for e in np.flatnonzero(monoid.idempotents).tolist():
        sub = green.maximal_subgroup(e)
        members = set(sub.elements.tolist())
        assert sub.elements[0] == e and sub.group.order == len(members)
        for g in members:
            assert monoid.multiply(e, g) == g == monoid.multiply(g, e)
            assert {monoid.multiply(g, h) for h in members} == members  # closed, and g permutes H
            assert any(monoid.multiply(g, h) == e for h in members)  # an inverse exists


def element_periods(dfa: DFA) -> list[int]:
    """The period of m, m^2, m^3, ... for every element, by powering transformations directly."""
    monoid = transition_monoid(dfa)
    periods = []
    for m in monoid.transformations.astype(np.int64):
        seen: dict[bytes, int] = {}
        power, k = m, 1
        while power.tobytes() not in seen:
            seen[power.tobytes()] = k
            power, k = m[power], k + 1
        periods.append(k - seen[power.tobytes()])
    return periods


@settings(max_examples=60, deadline=None)
@given(any_dfas(max_states=6, max_symbols=3))
def test_aperiodic_iff_h_trivial_iff_every_element_has_period_one(dfa: DFA):
    green = green_structure(transition_monoid(dfa))
    h_trivial = int(np.bincount(green.h_class).max()) == 1
    assert green.is_aperiodic == h_trivial == (max(element_periods(dfa)) == 1)
    assert green.is_aperiodic == all(g.order == 1 for g in green.maximal_subgroups())


def test_one_subgroup_per_regular_d_class_is_reported():
    green = green_structure(transition_monoid(full_transformation_dfa(3)))
    groups = green.maximal_subgroups()
    assert [g.d_class for g in groups] == sorted(set(green.d_class[green.idempotents].tolist()))
    assert all(green.idempotents[g.idempotent] for g in groups)
    with pytest.raises(ValueError, match="not an idempotent"):
        green.maximal_subgroup(int(np.flatnonzero(~green.idempotents)[0]))

"""Theorem (Barrington 1989; Merrill, Petty, Sabharwal 2024, arXiv:2404.08819): the word problem of a
non-solvable group (A_5, S_5) is NC^1-complete, and log-precision diagonal SSMs of fixed depth are in
TC^0; so, unless TC^0 = NC^1, no such model solves it. The conclusion is conditional and cannot be
executed; what is tested is the hypothesis the classifier checks: a subgroup of the syntactic monoid is
non-solvable exactly for A_5 and S_5 among the group tasks, checked independently with sympy's
permutation groups (derived series), and the rotation class refuses A_5, naming the condition.
"""
from __future__ import annotations

import numpy as np
import pytest
from sympy.combinatorics import Permutation, PermutationGroup

from automata.classify import classify
from automata.minimize import minimize
from automata.tasks import get_task
from lsrl.constructions.errors import NotExpressible
from lsrl.constructions.select import compile_automaton

pytestmark = pytest.mark.theorem

GROUPS = ("S:3", "A:4", "S:4", "dihedral:5", "Q8", "A:5", "S:5")


def transition_group(name: str) -> PermutationGroup:
    dfa = minimize(get_task(name).dfa)
    return PermutationGroup([Permutation(np.asarray(dfa.delta[:, a]).tolist()) for a in range(dfa.n_symbols)])


@pytest.mark.parametrize("name", GROUPS)
def test_solvability_matches_sympy(name):
    solvable = transition_group(name).is_solvable
    assert solvable == (name not in ("A:5", "S:5"))
    assert all(g.solvable for g in classify(get_task(name).dfa).groups) == solvable


def test_rotation_refuses_a5_conditionally():
    """Rotations (complex diagonal, unit modulus) are refused only under TC^0 != NC^1; diag-01 and
    diag-neg are refused unconditionally (A_5 is a group; its 3-cycles count modulo 3)."""
    t = get_task("A:5")
    with pytest.raises(NotExpressible) as caught:
        compile_automaton(t.dfa, "rotation", t.labels)
    assert "TC^0" in (caught.value.condition or "")

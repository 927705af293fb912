"""Fact (classical; used by Siems et al. 2025, arXiv:2502.10297, for S_n with n_h = n - 1): every
permutation of n points is a product of n - c transpositions, c its number of cycles, so of at most n - 1;
a transposition (i j) is the reflection I - (e_i - e_j)(e_i - e_j)^T, a generalized Householder matrix
with beta = 1 on the unnormalised key (beta = 2 on the unit key), eigenvalues 1 (n - 1 times) and -1.

Tested exactly, in integer arithmetic, for every permutation of n <= 6 points with the factorisation the
DeltaProduct construction uses (``lsrl.constructions.householder.transpositions``).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy

from lsrl.constructions.householder import transpositions

pytestmark = pytest.mark.theorem


def reflection(n: int, i: int, j: int) -> np.ndarray:
    k = np.zeros(n, dtype=np.int64)
    k[i], k[j] = 1, -1
    return np.eye(n, dtype=np.int64) - np.outer(k, k)


def cycles(p: tuple[int, ...]) -> int:
    seen, count = set(), 0
    for start in range(len(p)):
        if start not in seen:
            count += 1
            x = start
            while x not in seen:
                seen.add(x)
                x = p[x]
    return count


@pytest.mark.parametrize("n", range(1, 7))
def test_every_permutation_is_a_product_of_at_most_n_minus_1_reflections(n):
    for p in itertools.permutations(range(n)):
        swaps = transpositions(np.asarray(p))
        assert len(swaps) == n - cycles(p) <= max(n - 1, 0)
        matrix = np.eye(n, dtype=np.int64)
        for i, j in swaps:  # the state is a column vector; factors apply in order
            matrix = reflection(n, i, j) @ matrix
        target = np.zeros((n, n), dtype=np.int64)
        target[list(p), list(range(n))] = 1  # e_x -> e_{p[x]}
        assert (matrix == target).all()


@pytest.mark.parametrize("n", [2, 3, 5])
def test_a_transposition_is_a_householder_reflection(n):
    r = sympy.Matrix(reflection(n, 0, n - 1).tolist())
    assert r == r.T and r * r == sympy.eye(n)
    assert r.eigenvals() == {1: n - 1, -1: 1}

"""Theorem (Grazzi et al. 2025, Thm. 2, arXiv:2411.12537): a finite-precision linear RNN whose transition
matrices are triangular with real eigenvalues cannot count modulo 3; non-triangular matrices are needed.

Hypotheses tested here: h <- fl(A h + b) in IEEE float32 (each coordinate's sum over all columns evaluated left to right),
A upper triangular 3 x 3 with diagonal in [-15/16, 15/16] except the last, which may be -1, off-diagonal
entries in [-1, 1], input b fixed (the input a^n repeats one letter), |h0| <= 100.
Conclusion tested: the orbit is eventually periodic with a period that is a power of two (at most 2^3).
Why: coordinate i's update is a composition of rounded operations that are each monotone in h_i, non-
decreasing if A_ii >= 0 and non-increasing if A_ii < 0; once the coordinates below have period p, the map
over p steps is monotone in h_i, so h_i has period p or 2p. A readout of an orbit of period 2^k has a
period dividing 2^k, never the minimal period 3 of n mod 3, so no such model counts modulo 3.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.theorem

f32 = np.float32
MAX_STEPS = 20_000


def step(a: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    out = b.copy()
    for i in range(len(h)):
        total = f32(0)
        for j in range(len(h)):
            total = f32(total + f32(a[i, j] * h[j]))
        out[i] = f32(total + b[i])
    return out


def eventual_period(a: np.ndarray, b: np.ndarray, h: np.ndarray) -> int | None:
    seen: dict[bytes, int] = {}
    for t in range(MAX_STEPS):
        key = h.tobytes()
        if key in seen:
            return t - seen[key]
        seen[key] = t
        h = step(a, b, h)
    return None


@st.composite
def triangular(draw):
    diag = [draw(st.floats(-15 / 16, 15 / 16, width=32)) for _ in range(2)]
    diag.append(draw(st.one_of(st.just(-1.0), st.floats(-15 / 16, 15 / 16, width=32))))
    a = np.zeros((3, 3), dtype=f32)
    a[np.diag_indices(3)] = diag
    for i, j in ((0, 1), (0, 2), (1, 2)):
        a[i, j] = draw(st.floats(-1.0, 1.0, width=32))
    b = np.array([draw(st.floats(-10.0, 10.0, width=32)) for _ in range(3)], dtype=f32)
    h0 = np.array([draw(st.floats(-100.0, 100.0, width=32)) for _ in range(3)], dtype=f32)
    return a, b, h0


@settings(max_examples=25, deadline=None)
@given(triangular())
def test_eventual_period_is_a_power_of_two(system):
    a, b, h0 = system
    period = eventual_period(a, b, h0)
    assume(period is not None)
    assert period in (1, 2, 4, 8)
    assert period % 3 != 0


def test_a_non_triangular_rotation_does_count_mod_3():
    """The hypothesis matters: the integer permutation matrix of a 3-cycle (not triangular, eigenvalues
    the cube roots of unity) has period 3 on e_0, exactly in float32."""
    a = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=f32)
    assert eventual_period(a, np.zeros(3, dtype=f32), np.array([1, 0, 0], dtype=f32)) == 3

"""Theorem (Sarrof, Veitsman, Hahn 2024; Grazzi et al. 2025, Thm. 1, arXiv:2411.12537): a finite-precision
linear RNN whose transition matrices have only non-negative real eigenvalues cannot recognise parity.

Hypotheses tested here: one diagonal channel h <- fl(fl(a h) + b) in IEEE float32 with round-to-nearest,
gate a in [0, 1] and input b fixed (the input 1^n repeats one symbol), any initial h0.
Conclusion tested: (i) the step map is monotone non-decreasing in h (rounding is monotone and a >= 0);
(ii) hence the orbit h_0, h_1, ... is monotone, and, lying in the finite set of float32 numbers, eventually
constant; when a <= 1 - 2^-6 and |b|, |h0| <= 1000 it is constant within 8000 steps (the slowest orbit
decays from 1000 by a factor a per step until a * h rounds back to h, a subnormal of fewer than 1 / (2 (1 - a))
= 32 units of 2^-149: ln(1000 * 2^149 / 32) / -ln(1 - 2^-6) < 6,800 steps, 6,770 measured; a = 1 can take up
to 2^24); (iii) so any readout of the state is eventually constant on 1^n, while parity
alternates: no such channel (nor a stack of them, by induction over layers: a layer whose input is
eventually constant is again such a channel) computes parity. Several channels are independent orbits.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.theorem

f32 = np.float32
gates = st.floats(0.0, 1.0, width=32)
values = st.floats(-1000.0, 1000.0, width=32)


def step(a: np.float32, b: np.float32, h: np.float32) -> np.float32:
    return f32(f32(a * h) + b)


@settings(max_examples=200, deadline=None)
@given(gates, values, values, values)
def test_step_is_monotone(a, b, h1, h2):
    a, b, lo, hi = f32(a), f32(b), f32(min(h1, h2)), f32(max(h1, h2))
    assert step(a, b, lo) <= step(a, b, hi)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1.0 - 2 ** -6, width=32), values, values)
@example(a=0.96875, b=0.0, h0=1.0)  # still decaying through the subnormals after 3000 steps (the bound used before)
@example(a=1.0 - 2 ** -6, b=0.0, h0=1000.0)  # the slowest orbit of the range
def test_orbit_is_monotone_and_eventually_constant(a, b, h0):
    a, b, h = f32(a), f32(b), f32(h0)
    orbit = [h]
    for _ in range(8000):
        h = step(a, b, h)
        orbit.append(h)
        if orbit[-1] == orbit[-2]:
            break
    diffs = np.diff(np.asarray(orbit, dtype=np.float64))
    assert (diffs >= 0).all() or (diffs <= 0).all()
    assert orbit[-1] == orbit[-2] == step(a, b, orbit[-1])  # a fixed point: every later readout is the same

"""Exact real constants of cyclotomic fields (proofs.cyclotomic.Algebraic): cos and sin of rational multiples of pi,
square roots of rationals, and their field operations agree with the reals (checked against rational enclosures
and floats), stay exact (cos^2 + sin^2 = 1, sqrt(q)^2 = q), and come back as Fractions when rational."""
from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs.cyclotomic import Algebraic, cos_pi, from_sympy, sin_pi, sqrt_rational

ANGLES = st.builds(F, st.integers(-24, 24), st.sampled_from([1, 2, 3, 4, 6, 8]))
RADICANDS = st.builds(F, st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8, 12, 18]), st.sampled_from([1, 2, 3, 4, 9]))


def _close(value, want: float) -> bool:
    lo, hi = value.bounds() if isinstance(value, Algebraic) else (value, value)
    return lo - F(1, 10 ** 12) <= F(want) <= hi + F(1, 10 ** 12)


@settings(max_examples=40, deadline=None)
@given(r=ANGLES)
def test_cos_and_sin_are_exact_and_enclose_the_reals(r: F) -> None:
    c, s = cos_pi(r), sin_pi(r)
    assert _close(c, math.cos(math.pi * r)) and _close(s, math.sin(math.pi * r))
    assert c * c + s * s == 1
    assert cos_pi(2 * r) == 2 * c * c - 1


@settings(max_examples=40, deadline=None)
@given(q=RADICANDS)
def test_sqrt_squares_to_its_radicand_and_is_nonnegative(q: F) -> None:
    root = sqrt_rational(q)
    assert root * root == q and root >= 0
    assert _close(root, math.sqrt(q))
    assert isinstance(root, F) == (math.isqrt(q.numerator) ** 2 == q.numerator and
                                   math.isqrt(q.denominator) ** 2 == q.denominator)


@settings(max_examples=30, deadline=None)
@given(a=RADICANDS, b=RADICANDS, r=ANGLES)
def test_field_operations_agree_with_floats(a: F, b: F, r: F) -> None:
    x, y = sqrt_rational(a) + cos_pi(r), sqrt_rational(b) - sin_pi(r)
    fx, fy = float(x), float(y)
    assert _close(x + y, fx + fy) and _close(x * y, fx * fy) and _close(x - y, fx - fy)
    if y != 0:
        assert (x / y) * y == x
    assert (x < y) == (fx < fy) or abs(fx - fy) < 1e-9


def test_rational_results_are_fractions_and_errors_are_named() -> None:
    assert cos_pi(F(2, 3)) == F(-1, 2) and type(cos_pi(F(2, 3))) is F
    assert type(sqrt_rational(F(9, 4))) is F and sqrt_rational(F(9, 4)) == F(3, 2)
    assert type(sin_pi(F(2, 3)) * sqrt_rational(3)) is F
    with pytest.raises(ValueError, match="negative"):
        sqrt_rational(F(-2))
    with pytest.raises(ZeroDivisionError):
        sqrt_rational(2) / (sqrt_rational(2) - sqrt_rational(2))


def test_sympy_expressions_of_square_roots_convert_exactly() -> None:
    import sympy

    assert from_sympy(sympy.sqrt(3) / 2) == sin_pi(F(1, 3))
    assert from_sympy(1 / sympy.sqrt(2)) == cos_pi(F(1, 4))
    assert from_sympy(sympy.sqrt(2 + sympy.sqrt(2))) is None  # a nested radical: not one of lsrl's constants

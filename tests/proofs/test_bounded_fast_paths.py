"""The integer fast paths of ``proofs.bounded`` compute the same exact values as the Fraction definitions they replace:
the ideal products (``_Linear._ideal_of`` against ``_dot``), the ReLU sign tests, a clipped pair's exactness
window, and ``Cyclotomic`` equality."""
from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from proofs.bounded import (
    GRID,
    DriftAnalysis,
    _Block,
    _dot,
    _Linear,
    _shifted_enclosure,
    _sign_shifted,
    _sign_shifted_grid,
)
from proofs.cyclotomic import Cyclotomic

N = 12  # Q(zeta_12): degree 4
small = st.fractions(min_value=-4, max_value=4, max_denominator=64)
dyadic = st.builds(lambda n, e: Fraction(n, 2 ** e), st.integers(-(2 ** 12), 2 ** 12).filter(bool), st.integers(0, 12))
cyclotomic = st.lists(small, min_size=4, max_size=4).map(lambda c: Cyclotomic(N, tuple(c)))
value = st.one_of(st.just(Fraction(0)), st.just(Cyclotomic(N, (Fraction(0),) * 4)), small, cyclotomic)


@settings(max_examples=150)
@given(st.lists(st.lists(st.tuples(st.integers(0, 5), dyadic), max_size=4), min_size=1, max_size=5),
       st.lists(small, min_size=5, max_size=5), st.lists(value, min_size=6, max_size=6))
def test_ideal_of_is_dot_of_every_row(rows: list, biases: list, x: list) -> None:
    """Same values and same types (a Cyclotomic exactly when a nonzero Cyclotomic entry meets the row), with
    duplicate rows (a clipped pair's) sharing their sums."""
    rows = [sorted({j: w for j, w in row}.items()) for row in rows]
    rows = rows + rows[:1]
    biases = biases[:len(rows) - 1] + [biases[-1]]
    table = [[(j, w, w, Fraction(0)) for j, w in row] for row in rows]
    linear = _Linear(table, [(b, b, Fraction(0)) for b in biases])
    got = linear.ideal(tuple(x))
    want = tuple(_dot(row, b, x) for row, b in zip(table, biases))
    assert got == want
    assert [isinstance(v, Cyclotomic) for v in got] == [isinstance(v, Cyclotomic) for v in want]


@settings(max_examples=300)
@given(st.one_of(small, cyclotomic), st.integers(-(2 ** 90), 2 ** 90), st.one_of(st.none(), small))
def test_sign_shifted_grid_is_sign_shifted(v, m: int, offset: Fraction | None) -> None:
    assert _sign_shifted_grid(v, m, offset) == _sign_shifted(v, (offset or Fraction(0)) + Fraction(m, GRID))


@given(st.one_of(small, cyclotomic), st.one_of(st.none(), small))
def test_sign_shifted_grid_at_zero(v, offset: Fraction | None) -> None:
    """Where v + offset + m / GRID is 0 (or its enclosure meets 0), the exact fallback decides."""
    rational = v if isinstance(v, Fraction) else v.coefficients[0]
    target = -(rational + (offset or Fraction(0))) * GRID
    for m in {int(target), int(target) + 1, int(target) - 1}:
        for u in (v, Cyclotomic(N, (rational, Fraction(0), Fraction(0), Fraction(0)))):
            assert _sign_shifted_grid(u, m, offset) == _sign_shifted(u, (offset or Fraction(0)) + Fraction(m, GRID))


def _exact_pair_by_definition(c: Fraction, c2: Fraction, s, slack: Fraction) -> bool:
    """``_exact_pair`` as first written, in Fractions."""
    if c2 >= c or c >= 0:
        return False
    lo, hi = _shifted_enclosure(s, c) if isinstance(s, Cyclotomic) else (s - c, s - c)
    lo, hi = lo - slack, hi + slack
    return all(-b / 2 <= lo and hi <= -2 * b for b in (c, c2)) and lo + c2 >= 0


@settings(max_examples=300)
@given(st.one_of(small, cyclotomic), st.integers(1, 64), st.integers(1, 64), st.integers(0, 2 ** 78))
def test_exact_pair_window_is_the_definition(s, c_units: int, width_units: int, slack: int) -> None:
    c, c2 = Fraction(-c_units, 16), Fraction(-c_units - width_units, 16)  # floats: the width is a float32
    up = _Linear([[], []], [(c, c, Fraction(0)), (c2, c2, Fraction(0))])
    block = _Block(up, up, up, up, up, [(0, 1)], 1, True)
    assert DriftAnalysis._exact_pair(block, 0, s, slack) == _exact_pair_by_definition(c, c2, s, Fraction(slack, GRID))


@given(cyclotomic, cyclotomic)
def test_cyclotomic_equality_is_coefficient_equality(a: Cyclotomic, b: Cyclotomic) -> None:
    same = Cyclotomic(N, tuple(Fraction(c) for c in a.coefficients))
    assert a == same and hash(a) == hash(same)
    assert (a == b) == (a.coefficients == b.coefficients)
    with_ints = Cyclotomic(N, tuple(int(c) if c.denominator == 1 else c for c in a.coefficients))
    assert (with_ints == a) and (with_ints == b) == (a == b)
    assert Cyclotomic(N, (0.5, 0.0, 0.0, 0.0)) == Cyclotomic(N, (Fraction(1, 2), Fraction(0), Fraction(0), Fraction(0)))

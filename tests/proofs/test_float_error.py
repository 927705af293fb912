"""The one rounding grid and gamma_n (``proofs.float_error``): rounding up stays on the grid and above the value,
and the integer fast paths of the interval and bounded checkers compute the bounds that ``gamma`` defines."""
from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from proofs.bounded import _Linear
from proofs.float_error import FLOAT32_UNIT, GRID, gamma, sqrt_up, to_grid_ceil, to_grid_floor, up
from proofs.interval import ROUNDINGS, _error

fractions = st.fractions(min_value=-(2 ** 40), max_value=2 ** 40, max_denominator=2 ** 100)
on_grid = st.integers(0, 2 ** 100).map(lambda n: Fraction(n, GRID))
dyadic = st.builds(lambda n, e: Fraction(n, 2 ** e), st.integers(-(2 ** 24), 2 ** 24), st.integers(0, 30))


@given(fractions)
def test_up_is_the_grid_point_at_or_above(x: Fraction) -> None:
    assert up(x) >= x > up(x) - Fraction(1, GRID) and (up(x) * GRID).denominator == 1
    assert to_grid_floor(x) <= x * GRID <= to_grid_ceil(x) <= to_grid_floor(x) + 1


@given(fractions.map(abs))
def test_sqrt_up_bounds_the_root(x: Fraction) -> None:
    assert sqrt_up(x) ** 2 >= x and (sqrt_up(x) - Fraction(1, GRID)) ** 2 <= x + Fraction(1, GRID)


@given(st.integers(0, 2 ** 20))
def test_gamma_is_higham(n: int) -> None:
    assert gamma(n, FLOAT32_UNIT) == n * FLOAT32_UNIT / (1 - n * FLOAT32_UNIT)
    assert gamma(n, FLOAT32_UNIT) >= n * FLOAT32_UNIT


@given(st.sampled_from(["float32", "bfloat16"]), st.integers(1, 60), st.integers(0, 3),
       st.integers(0, 2 ** 200), st.integers(0, 200))
def test_interval_error_bounds_gamma(name: str, active: int, rounds: int, magnitude: int, scale_bits: int) -> None:
    """``interval._error`` (integers) is the grid ceiling of k u (1 + 2 k u) |terms| + 2 rounds eta, at least
    gamma_k |terms| + 2 rounds eta."""
    rounding = ROUNDINGS[name]
    k, u = active - 1 + (1 if rounds else 0), rounding.unit
    size = Fraction(magnitude, 2 ** scale_bits)
    got = _error(rounding, active, rounds, magnitude, scale_bits)
    if k <= 0:
        assert got == 0
        return
    assert got == to_grid_ceil(k * u * (1 + 2 * k * u) * size + 2 * rounds * rounding.eta)
    assert Fraction(got, GRID) >= gamma(k, u) * size + 2 * rounds * rounding.eta


@settings(max_examples=60)
@given(st.lists(st.lists(st.tuples(dyadic, on_grid), min_size=1, max_size=5), min_size=1, max_size=4),
       st.lists(st.tuples(fractions, on_grid, on_grid), min_size=5, max_size=5))
def test_bounded_integer_path_is_the_fraction_path(rows: list, inputs: list) -> None:
    """``_Linear.apply``'s integer sums give the same perturbation and rounding bounds (up(gamma_n size)) as
    ``_bounds_fraction``, which states them with ``gamma`` and ``up``."""
    rows = [[(j, w, w, error) for j, (w, error) in enumerate(row) if w != 0] for row in rows]
    linear = _Linear(rows, [(Fraction(0), Fraction(0), Fraction(0))] * len(rows))
    x, magnitude, deviation = (list(column) for column in zip(*inputs))
    magnitude = [max(m, up(abs(v))) for m, v in zip(magnitude, x)]
    _, perturbation, rounding = linear.apply(x, magnitude, deviation)
    assert (perturbation, rounding) == tuple(linear._bounds_fraction(x, magnitude, deviation))

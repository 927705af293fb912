"""Float rounding error in exact rationals: Higham's gamma_n and the grid 2^-80 that the certificates' error
bounds and box endpoints are rounded outward to (the one definition of each, imported by every checker)."""
from __future__ import annotations

import math
from fractions import Fraction

GRID_BITS = 80
GRID = 1 << GRID_BITS  # bounds are multiples of 1 / GRID: small denominators, soundness kept by rounding outward
FLOAT32_UNIT = Fraction(1, 2 ** 24)  # float32's unit roundoff (round to nearest)


def gamma(n: int, unit: Fraction) -> Fraction:
    """gamma_n = n u / (1 - n u): a sum of n + 1 terms (or a product chain of n roundings) evaluated in any order
    with unit roundoff u differs from the exact value by at most gamma_n times the sum of the terms' magnitudes
    (Higham 2002, "Accuracy and Stability of Numerical Algorithms", Lemma 3.1); 0 for n = 0."""
    return n * unit / (1 - n * unit)


def to_grid_floor(x: Fraction) -> int:
    """x * GRID rounded down: the grid point at or below x, as an integer over GRID."""
    return (x.numerator << GRID_BITS) // x.denominator


def to_grid_ceil(x: Fraction) -> int:
    """x * GRID rounded up: the grid point at or above x, as an integer over GRID."""
    return -((-x.numerator << GRID_BITS) // x.denominator)


def up(x: Fraction) -> Fraction:
    """x rounded up to the grid (keeps bounds small without losing soundness)."""
    return Fraction(to_grid_ceil(x), GRID)


def sqrt_up(x: Fraction) -> Fraction:
    """An upper bound on sqrt(x) on the grid."""
    root = math.isqrt(-((-x.numerator * GRID * GRID) // x.denominator))
    return Fraction(root + 1, GRID)

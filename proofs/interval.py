"""Rational boxes and the floating-point rounding of the operations a compiled model performs on them, in any
summation order (Higham 2002). Proof: docs/theorems.md#boxes-and-rounding
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from proofs.float_error import GRID as ONE  # 1 on the grid: an endpoint x is stored as x * ONE
from proofs.float_error import GRID_BITS, to_grid_ceil, to_grid_floor


@dataclass(frozen=True)
class Rounding:
    """A float format's unit roundoff u = 2^-mantissa, its underflow allowance eta, or exact arithmetic."""

    name: str
    mantissa: int | None  # None: exact rational arithmetic
    eta: Fraction = Fraction(0)  # half the smallest subnormal
    subnormal_exponent: int = 0  # the smallest subnormal is 2^subnormal_exponent

    @classmethod
    def exact(cls) -> Rounding:
        return cls("exact", None)

    @property
    def unit(self) -> Fraction:
        return Fraction(0) if self.mantissa is None else Fraction(1, 2 ** self.mantissa)


ROUNDINGS = {"exact": Rounding.exact(),
             "float32": Rounding("float32", 24, Fraction(1, 2 ** 150), -149),
             "bfloat16": Rounding("bfloat16", 8, Fraction(1, 2 ** 134), -133)}


def _floor_shift(values: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray([v >> bits for v in values.tolist()], dtype=object)


def _ceil_shift(values: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray([-((-v) >> bits) for v in values.tolist()], dtype=object)


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@dataclass(frozen=True, eq=False)
class Intervals:
    """A vector of closed intervals [lo_i, hi_i] with endpoints lo_i / 2^GRID_BITS, hi_i / 2^GRID_BITS."""

    lo: np.ndarray  # object array of Python ints
    hi: np.ndarray

    @classmethod
    def point(cls, values) -> Intervals:
        """Exact values (Fractions or floats on the grid); ValueError if one is off the grid."""
        grid = [to_grid_floor(Fraction(v)) for v in values]
        if any(Fraction(g, ONE) != Fraction(v) for g, v in zip(grid, values)):
            raise ValueError("a point value is not a multiple of the grid 2^-GRID_BITS")
        return cls(_objects(grid), _objects(grid))

    @classmethod
    def from_fractions(cls, lo, hi) -> Intervals:
        """The smallest grid box containing [lo_i, hi_i]."""
        return cls(_objects([to_grid_floor(Fraction(v)) for v in lo]), _objects([to_grid_ceil(Fraction(v)) for v in hi]))

    def __len__(self) -> int:
        return len(self.lo)

    def __getitem__(self, index: slice) -> Intervals:
        return Intervals(self.lo[index], self.hi[index])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Intervals) and len(self) == len(other)
                and self.lo.tolist() == other.lo.tolist() and self.hi.tolist() == other.hi.tolist())

    def __neg__(self) -> Intervals:
        return Intervals(-self.hi, -self.lo)

    def fractions(self) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
        return tuple(Fraction(v, ONE) for v in self.lo.tolist()), tuple(Fraction(v, ONE) for v in self.hi.tolist())

    def is_point(self) -> np.ndarray:
        return np.asarray([a == b for a, b in zip(self.lo.tolist(), self.hi.tolist())], dtype=bool)

    def is_zero(self) -> np.ndarray:
        return np.asarray([a == 0 and b == 0 for a, b in zip(self.lo.tolist(), self.hi.tolist())], dtype=bool)

    def magnitude(self) -> np.ndarray:
        """max |x| over each interval, on the grid."""
        return _objects([max(-a, b, 0) for a, b in zip(self.lo.tolist(), self.hi.tolist())])

    def contains(self, other: Intervals) -> np.ndarray:
        return np.asarray([a <= c and d <= b for a, b, c, d in zip(self.lo.tolist(), self.hi.tolist(),
                                                                   other.lo.tolist(), other.hi.tolist())], dtype=bool)

    def hull(self, other: Intervals) -> Intervals:
        return Intervals(np.minimum(self.lo, other.lo), np.maximum(self.hi, other.hi))

    def widen(self, lo_by: np.ndarray, hi_by: np.ndarray) -> Intervals:
        return Intervals(self.lo - lo_by, self.hi + hi_by)

    def midpoint_distance(self, other: Intervals) -> Fraction:
        """The sup-norm distance between the two boxes' midpoints."""
        d = max((abs(a + b - c - e) for a, b, c, e in zip(self.lo.tolist(), self.hi.tolist(),
                                                          other.lo.tolist(), other.hi.tolist())), default=0)
        return Fraction(d, 2 * ONE)

    def relu(self) -> Intervals:
        return Intervals(np.maximum(self.lo, 0), np.maximum(self.hi, 0))

    def clamp(self, lo: Fraction, hi: Fraction) -> Intervals:
        a, b = to_grid_floor(lo), to_grid_floor(hi)
        return Intervals(np.minimum(np.maximum(self.lo, a), b), np.minimum(np.maximum(self.hi, a), b))

    def inflate(self, error: np.ndarray) -> Intervals:
        """Each interval enlarged by error_i (grid units) on both sides."""
        return Intervals(self.lo - error, self.hi + error)


def concat(parts: list[Intervals]) -> Intervals:
    return Intervals(np.concatenate([p.lo for p in parts]), np.concatenate([p.hi for p in parts]))


def distinct(values: list[Fraction]) -> tuple[list[Fraction], np.ndarray]:
    """The distinct values and each entry's index among them; entries are compared by identity before value
    (``to_rational`` repeats one object per value), so the few distinct weights are hashed once each."""
    by_id: dict[int, int] = {}
    by_value: dict[Fraction, int] = {}
    index = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        i = by_id.get(id(v))
        if i is None:
            i = by_id[id(v)] = by_value.setdefault(v, len(by_value))
        index[k] = i
    return list(by_value), index


def _odd_bits(v: int) -> int:
    """Significant bits of the integer v (its odd part's bit length)."""
    v = abs(v)
    return (v >> ((v & -v).bit_length() - 1)).bit_length() if v else 0


@dataclass(frozen=True)
class Weight:
    """A fixed matrix (a model weight), scaled to integers on the grid once, with the masks rounding needs."""

    scaled: np.ndarray  # object (rows, cols) ints: W * 2^GRID_BITS
    entries: np.ndarray  # the non-zero entries row by row (of ``rows``): their columns,
    values: np.ndarray  # their values (object ints),
    starts: np.ndarray  # and where each row's entries start
    magnitudes: np.ndarray  # |values|
    nonzero: np.ndarray  # bool (len(rows), all columns)
    unit: np.ndarray  # bool (len(rows), all columns): |W_ij| == 1 (the product is exact)
    rows: np.ndarray  # the rows with a non-zero entry (the others are 0 over any box)

    @classmethod
    def of(cls, matrix: np.ndarray) -> Weight:
        """From an object array of dyadic ``Fraction`` (``proofs.rational.to_rational``)."""
        unique, index = distinct(matrix.ravel().tolist())
        grid = [to_grid_floor(v) for v in unique]
        if any(Fraction(g, ONE) != v for g, v in zip(grid, unique)):
            raise ValueError("a weight is not a multiple of the grid 2^-GRID_BITS")
        scaled = _objects(grid)[index].reshape(matrix.shape) if len(index) else np.zeros(matrix.shape, dtype=object)
        rows = np.flatnonzero((scaled != 0).any(axis=1))
        row, column = np.nonzero(scaled[rows] != 0)
        starts = np.flatnonzero(np.diff(row, prepend=-1))
        values = scaled[rows][row, column]
        return cls(scaled, column, values, starts, np.where(values < 0, -values, values), (scaled != 0)[rows],
                   ((scaled == ONE) | (scaled == -ONE))[rows], rows)


def _point_sum_exact(terms: list[int], rounding: Rounding, scale_bits: int) -> bool:
    """Every partial sum of these exact terms (integers over 2^scale_bits), in any order, is representable:
    a multiple of the terms' least power of two (not below the subnormal grid) with ``mantissa`` bits."""
    common = 0
    for t in terms:
        common |= abs(t)
    if common == 0:
        return True
    shift = (common & -common).bit_length() - 1
    if shift - scale_bits < rounding.subnormal_exponent:
        return False
    return (sum(abs(t) for t in terms) >> shift).bit_length() <= rounding.mantissa


def _error(rounding: Rounding, active: int, rounds: int, magnitude: int, scale_bits: int) -> int:
    """Grid units bounding the float error of a sum of ``active`` non-zero terms, ``rounds`` of them
    products that round, of total magnitude ``magnitude`` / 2^scale_bits (module docstring)."""
    k = active - 1 + (1 if rounds else 0)
    if rounding.mantissa is None or k <= 0:
        return 0
    _check_range(rounding, k)
    return _bound(rounding, k, rounds, magnitude, scale_bits)


def _errors(rounding: Rounding, active: np.ndarray, rounds: np.ndarray, magnitude: np.ndarray,
            scale_bits: int) -> np.ndarray:
    """``_error`` of every row at once (int arrays ``active``, ``rounds``; object ints ``magnitude``)."""
    k = active - 1 + (rounds > 0)
    out = np.zeros(len(k), dtype=object)
    live = np.flatnonzero(k > 0)
    if rounding.mantissa is None or not len(live):
        return out
    _check_range(rounding, int(k[live].max()))
    out[live] = _bound(rounding, k[live].astype(object), rounds[live].astype(object), magnitude[live], scale_bits)
    return out


def _check_range(rounding: Rounding, k: int) -> None:
    if 2 * k > 1 << rounding.mantissa:  # k u > 1/2, past the range of the dyadic bound below
        raise ValueError(f"{k} roundings of {rounding.name} exceed the range of the gamma bound")


def _bound(rounding: Rounding, k, rounds, magnitude, scale_bits: int):
    """k u (1 + 2 k u), a dyadic upper bound of gamma(k, u) (proofs.float_error) while k u <= 1/2, times
    magnitude / 2^scale_bits, + 2 rounds eta, in integers over 2^shift (every term is dyadic) and rounded up
    onto the grid: the same value as to_grid_ceil of the Fraction sum (ints, or object arrays of ints)."""
    m, eta = rounding.mantissa, rounding.eta
    shift = max(2 * m + scale_bits, eta.denominator.bit_length() - 1)
    total = ((k << m) + 2 * k * k) * magnitude << (shift - 2 * m - scale_bits)
    total += 2 * rounds * eta.numerator << (shift - eta.denominator.bit_length() + 1)
    return -((-total << GRID_BITS) >> shift)


def _product_exact(a: int, b: int, mantissa: int, scale_bits: int) -> bool:
    """a * b / 2^scale_bits is representable (significant bits, and not below the normal range)."""
    p = a * b
    if p == 0:
        return True
    return _odd_bits(p) <= mantissa and abs(p) << 126 >= 1 << scale_bits  # |p| / 2^scale_bits >= 2^-126


@dataclass(frozen=True, eq=False)
class Rounded:
    """An operation's result: the intervals of its exact value over the inputs, and the float error bound
    (grid units, per coordinate) that a float evaluation may add."""

    exact: Intervals
    error: np.ndarray

    def value(self) -> Intervals:
        """Every value a float (or exact) evaluation can produce."""
        return self.exact.inflate(self.error)


def affine(weight: Weight, x: Intervals, bias: Weight | None, rounding: Rounding) -> Rounded:
    """W x + b over the box x, and its float error bound (module docstring)."""
    rows, some = weight.scaled.shape[0], weight.rows  # zero entries add nothing: sums over the non-zero ones
    lo, hi = np.zeros(rows, dtype=object), np.zeros(rows, dtype=object)
    if len(some):
        ends = x.lo[weight.entries], x.hi[weight.entries]
        positive = weight.values > 0  # each product's least value takes lo for a positive weight, else hi
        low, high = np.where(positive, ends[0], ends[1]), np.where(positive, ends[1], ends[0])
        lo[some] = _floor_shift(np.add.reduceat(weight.values * low, weight.starts), GRID_BITS)
        hi[some] = _ceil_shift(np.add.reduceat(weight.values * high, weight.starts), GRID_BITS)
    b = bias.scaled.ravel() if bias is not None else np.zeros(rows, dtype=object)
    exact = Intervals(lo + b, hi + b)
    if rounding.mantissa is None or not len(some):
        return Rounded(exact, np.zeros(rows, dtype=object))
    # a row without non-zero weights sums at most its bias: one term, no rounding (error 0)
    zero, point = x.is_zero(), x.is_point()
    used = weight.nonzero & ~zero  # the non-zero terms of each row
    unit, scaled = weight.unit, weight.scaled[some]
    # a term rounds unless its weight is +-1 or it is a point product that is a float of the format
    maybe_exact = used & ~unit & point
    exact_product = np.zeros(used.shape, dtype=bool)
    for i, j in zip(*np.nonzero(maybe_exact)):
        exact_product[i, j] = _product_exact(scaled[i, j], x.lo[j], rounding.mantissa, 2 * GRID_BITS)
    rounds = (used & ~unit & ~exact_product).sum(axis=1)
    all_points = ~(used & ~point).any(axis=1)
    active = used.sum(axis=1) + (b[some] != 0)
    bias = b[some]
    magnitude = np.add.reduceat(weight.magnitudes * x.magnitude()[weight.entries], weight.starts)
    errors = np.zeros(rows, dtype=object)
    errors[some] = _errors(rounding, active, rounds, magnitude + (np.where(bias < 0, -bias, bias) << GRID_BITS),
                           2 * GRID_BITS)
    # rows of exact point terms: their non-zero products W_ij x_j and the bias, exact when every partial sum is
    ends = np.append(weight.starts, len(weight.entries))
    for r in np.flatnonzero((rounds == 0) & all_points).tolist():
        terms = (weight.values[ends[r]:ends[r + 1]] * x.lo[weight.entries[ends[r]:ends[r + 1]]]).tolist()
        if _point_sum_exact(terms + [bias[r] << GRID_BITS], rounding, 2 * GRID_BITS):
            errors[some[r]] = 0
    return Rounded(exact, errors)


def _product(a: Intervals, b: Intervals) -> Intervals:
    corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    lo = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    hi = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    return Intervals(_floor_shift(lo, GRID_BITS), _ceil_shift(hi, GRID_BITS))


def sum_of_products(pairs: list[tuple[Intervals, Intervals]], rounding: Rounding) -> Rounded:
    """sum_p a_p * b_p elementwise (a gate times a state plus an input, complex products in real parts)."""
    n = len(pairs[0][0])
    lo = sum((_product(a, b).lo for a, b in pairs), np.zeros(n, dtype=object))
    hi = sum((_product(a, b).hi for a, b in pairs), np.zeros(n, dtype=object))
    exact = Intervals(lo, hi)
    if rounding.mantissa is None:
        return Rounded(exact, np.zeros(n, dtype=object))
    errors = []
    for i in range(n):
        active, rounds, magnitude, points = 0, 0, 0, []
        for a, b in pairs:
            a_lo, a_hi, b_lo, b_hi = a.lo[i], a.hi[i], b.lo[i], b.hi[i]
            if (a_lo == a_hi == 0) or (b_lo == b_hi == 0):
                continue  # an exact zero term: adding it is exact
            active += 1
            magnitude += max(-a_lo, a_hi) * max(-b_lo, b_hi)
            both_points = a_lo == a_hi and b_lo == b_hi
            if both_points:
                points.append(a_lo * b_lo)
            unit_factor = (a_lo == a_hi and abs(a_lo) == ONE) or (b_lo == b_hi and abs(b_lo) == ONE)
            if not unit_factor and not (both_points and _product_exact(a_lo, b_lo, rounding.mantissa, 2 * GRID_BITS)):
                rounds += 1
        if not rounds and len(points) == active and _point_sum_exact(points, rounding, 2 * GRID_BITS):
            errors.append(0)
        else:
            errors.append(_error(rounding, active, rounds, magnitude, 2 * GRID_BITS))
    return Rounded(exact, np.asarray(errors, dtype=object))


def add(x: Intervals, y: Intervals, rounding: Rounding) -> Rounded:
    """x + y elementwise: ``sum_of_products([(x, 1), (y, 1)])`` (the same bounds), without its products by 1.
    The terms never round; a coordinate with a zero term is the other term, exactly."""
    exact = Intervals(x.lo + y.lo, x.hi + y.hi)
    errors = np.zeros(len(x), dtype=object)
    if rounding.mantissa is None:
        return Rounded(exact, errors)
    for i in np.flatnonzero(~x.is_zero() & ~y.is_zero()).tolist():
        terms = ((x.lo[i], x.hi[i]), (y.lo[i], y.hi[i]))
        if all(lo == hi for lo, hi in terms) and _point_sum_exact([lo * ONE for lo, _ in terms], rounding, 2 * GRID_BITS):
            continue
        magnitude = sum(max(-lo, hi) for lo, hi in terms) * ONE
        errors[i] = _error(rounding, 2, 0, magnitude, 2 * GRID_BITS)
    return Rounded(exact, errors)


def constant(n: int, value: int = 1) -> Intervals:
    """The point vector (value, ..., value)."""
    return Intervals(np.full(n, value * ONE, dtype=object), np.full(n, value * ONE, dtype=object))


def cast(x: Intervals, rounding: Rounding) -> Intervals:
    """Rounding each coordinate to the format (a state kept wider than the stream is cast back, as the
    bfloat16 model does with its float32 scan state): relative u, nothing for representable points."""
    if rounding.mantissa is None:
        return x
    point = x.is_point()
    error = [0 if point[i] and (x.lo[i] == 0 or _odd_bits(x.lo[i]) <= rounding.mantissa)
             else to_grid_ceil(rounding.unit * Fraction(m, ONE)) for i, m in enumerate(x.magnitude().tolist())]
    return x.inflate(np.asarray(error, dtype=object))

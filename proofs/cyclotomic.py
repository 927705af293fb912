"""Exact arithmetic in the cyclotomic field Q(zeta_N), zeta_N = exp(2 pi i / N), with proved signs.

An element is the unique rational combination sum_j c_j zeta^j, j < phi(N), reduced modulo the N-th
cyclotomic polynomial (a Q-basis), so equality is equality of coefficients. The roots of unity of every
order dividing N, their cosines and (when 4 | N) their sines are elements; rationals embed. The sign of a
real element is decided from rational enclosures of cos(2 pi j / N) (Taylor series with its remainder
bound, pi from Machin's formula with alternating-series brackets), refined until the enclosure of the
element excludes 0 (a nonzero element is not 0, so this terminates). Nothing is evaluated in floating
point.
"""
from __future__ import annotations

import functools
from fractions import Fraction
from math import factorial


START_BITS = 64


@functools.lru_cache(maxsize=None)
def _modulus(n: int) -> tuple[int, ...]:
    """Coefficients of the n-th cyclotomic polynomial, constant term first (monic)."""
    import sympy  # here, not at the top: most commands never need it

    x = sympy.Symbol("x")
    return tuple(int(c) for c in reversed(sympy.Poly(sympy.cyclotomic_poly(n, x), x).all_coeffs()))


def _arctan_bracket(inverse: int, bits: int) -> tuple[Fraction, Fraction]:
    """arctan(1 / inverse) between two consecutive partial sums of its alternating series."""
    x, total, k = Fraction(1, inverse), Fraction(0), 0
    while True:
        term = x ** (2 * k + 1) / (2 * k + 1)
        previous, total = total, total + (term if k % 2 == 0 else -term)
        if term < Fraction(1, 2 ** (bits + 8)) and k > 0:
            return min(previous, total), max(previous, total)
        k += 1


@functools.lru_cache(maxsize=None)
def pi_enclosure(bits: int) -> tuple[Fraction, Fraction]:
    """pi in [lo, hi], hi - lo < 2^-bits: pi = 16 arctan(1/5) - 4 arctan(1/239) (Machin)."""
    a_lo, a_hi = _arctan_bracket(5, bits)
    b_lo, b_hi = _arctan_bracket(239, bits)
    return 16 * a_lo - 4 * b_hi, 16 * a_hi - 4 * b_lo


def _round_down(x: Fraction, bits: int) -> Fraction:
    return Fraction((x.numerator << bits) // x.denominator, 1 << bits)


@functools.lru_cache(maxsize=None)
def cos_enclosure(j: int, n: int, bits: int) -> tuple[Fraction, Fraction]:
    """cos(2 pi j / n) in [lo, hi] with hi - lo < 2^-(bits - 2): Taylor series at a dyadic point x near
    the angle, the remainder |x|^2K / (2K)! and |cos' | <= 1 times the distance to the true angle."""
    j %= n
    pi_lo, pi_hi = pi_enclosure(bits + 8)
    x = _round_down(2 * j * pi_lo / n, bits + 8)
    distance = 2 * j * pi_hi / n - x
    total, term, k = Fraction(0), Fraction(1), 0
    while True:
        total += term
        k += 1
        term = -term * x * x / ((2 * k - 1) * (2 * k))
        if abs(term) < Fraction(1, 2 ** (bits + 4)):
            remainder = abs(x) ** (2 * k) / factorial(2 * k)
            break
    slack = remainder + distance
    return _round_down(total - slack, bits), _round_down(total + slack, bits) + Fraction(1, 2 ** bits)


class Cyclotomic:
    """An element of Q(zeta_n); immutable and hashable."""

    __slots__ = ("n", "coefficients", "_hash")

    def __init__(self, n: int, coefficients: tuple[Fraction, ...]):
        self.n = n
        self.coefficients = coefficients
        self._hash = None

    @classmethod
    def from_powers(cls, n: int, powers: dict[int, Fraction]) -> Cyclotomic:
        """sum_j powers[j] zeta_n^j, reduced."""
        degree = len(_modulus(n)) - 1
        full = [Fraction(0)] * max(n, degree)
        for j, c in powers.items():
            full[j % n] += c
        return cls(n, _reduce(full, n, degree))

    @classmethod
    def rational(cls, n: int, value: Fraction | int) -> Cyclotomic:
        return cls.from_powers(n, {0: Fraction(value)})

    @classmethod
    def cos(cls, n: int, k: int, m: int) -> Cyclotomic:
        """cos(2 pi k / m) = (zeta^a + zeta^-a) / 2, a = k n / m (m must divide n)."""
        a = k * (n // m)
        return cls._pair(n, a, Fraction(1, 2), -a, Fraction(1, 2))

    @classmethod
    def sin(cls, n: int, k: int, m: int) -> Cyclotomic:
        """sin(2 pi k / m) = (zeta^a - zeta^-a) / (2 i), i = zeta^(n/4) (4 and m must divide n)."""
        a, quarter = k * (n // m), n // 4
        return cls._pair(n, a - quarter, Fraction(1, 2), -a - quarter, Fraction(-1, 2))

    @classmethod
    def _pair(cls, n: int, i: int, x: Fraction, j: int, y: Fraction) -> Cyclotomic:
        """x zeta^i + y zeta^j (i and j may coincide modulo n)."""
        powers = {i % n: x}
        powers[j % n] = powers.get(j % n, Fraction(0)) + y
        return cls.from_powers(n, powers)

    def _lift(self, other: Cyclotomic | Fraction | int) -> Cyclotomic:
        if isinstance(other, Cyclotomic):
            if other.n != self.n:
                raise ValueError(f"elements of Q(zeta_{self.n}) and Q(zeta_{other.n}) do not mix")
            return other
        return Cyclotomic.rational(self.n, other)

    def __add__(self, other):
        if not isinstance(other, Cyclotomic):
            if other == 0:
                return self
            return Cyclotomic(self.n, (self.coefficients[0] + other,) + self.coefficients[1:])
        other = self._lift(other)
        return Cyclotomic(self.n, tuple(a + b for a, b in zip(self.coefficients, other.coefficients)))

    __radd__ = __add__

    def __neg__(self) -> Cyclotomic:
        return Cyclotomic(self.n, tuple(-a for a in self.coefficients))

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, Cyclotomic):
            return Cyclotomic(self.n, tuple(a * other for a in self.coefficients))
        other = self._lift(other)
        degree = len(self.coefficients)
        product = [Fraction(0)] * (2 * degree)
        for i, a in enumerate(self.coefficients):
            if a:
                for j, b in enumerate(other.coefficients):
                    if b:
                        product[i + j] += a * b
        return Cyclotomic(self.n, _reduce(product, self.n, degree))

    __rmul__ = __mul__

    def __eq__(self, other) -> bool:
        if isinstance(other, Cyclotomic):
            return self.n == other.n and self.coefficients == other.coefficients
        if isinstance(other, (int, Fraction)):
            return self.coefficients[0] == other and not any(self.coefficients[1:])
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:  # elements are keys of the certifiers' caches: hash the coefficients once
            self._hash = hash((self.n, self.coefficients))
        return self._hash

    def is_zero(self) -> bool:
        return not any(self.coefficients)

    def enclosure(self, bits: int = START_BITS) -> tuple[Fraction, Fraction]:
        """The real part in [lo, hi]: each zeta^j contributes cos(2 pi j / n) times its coefficient."""
        lo = hi = Fraction(0)
        for j, c in enumerate(self.coefficients):
            if c:
                c_lo, c_hi = cos_enclosure(j, self.n, bits)
                lo += min(c * c_lo, c * c_hi)
                hi += max(c * c_lo, c * c_hi)
        return lo, hi

    def sign(self) -> int:
        """The sign of a real element, proved by enclosures refined until they exclude 0."""
        if self.is_zero():
            return 0
        bits = START_BITS
        while True:
            lo, hi = self.enclosure(bits)
            if lo > 0:
                return 1
            if hi < 0:
                return -1
            bits *= 2

    def upper(self) -> Fraction:
        """A rational upper bound on |self| for a real element."""
        lo, hi = self.enclosure()
        return max(abs(lo), abs(hi))

    def __gt__(self, other) -> bool:
        return (self - other).sign() > 0

    def __ge__(self, other) -> bool:
        return (self - other).sign() >= 0

    def __lt__(self, other) -> bool:
        return (self - other).sign() < 0

    def __le__(self, other) -> bool:
        return (self - other).sign() <= 0

    def __repr__(self) -> str:
        terms = [f"{c}*z^{j}" for j, c in enumerate(self.coefficients) if c]
        return f"Q(zeta_{self.n})[{' + '.join(terms) or '0'}]"


def _reduce(full: list[Fraction], n: int, degree: int) -> tuple[Fraction, ...]:
    """Coefficients of sum_j full[j] x^j modulo the monic n-th cyclotomic polynomial (degree ``degree``),
    using x^n = 1 first."""
    modulus = _modulus(n)
    work = [Fraction(0)] * max(n, degree)
    for j, c in enumerate(full):
        if c:
            work[j % n] += c
    for d in range(len(work) - 1, degree - 1, -1):
        c = work[d]
        if c:
            for i, m in enumerate(modulus[:-1]):
                if m:
                    work[d - degree + i] -= c * m
            work[d] = Fraction(0)
    return tuple(work[:degree])

"""Exact arithmetic in the cyclotomic field Q(zeta_N), zeta_N = exp(2 pi i / N), with signs proved from rational
enclosures; nothing is evaluated in floating point. Why exact: docs/theorems.md#bounded-certificates
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction
from math import factorial

import numpy as np

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

    __slots__ = ("n", "coefficients", "_hash", "_key")

    def __init__(self, n: int, coefficients: tuple[Fraction, ...]):
        self.n = n
        self.coefficients = coefficients
        self._hash = None
        self._key = None

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
            if self is other:
                return True
            if self.n != other.n:
                return False
            mine, theirs = self._integer_key(), other._integer_key()
            if mine is None or theirs is None:
                return self.coefficients == other.coefficients
            return mine == theirs
        if isinstance(other, (int, Fraction)):
            return self.coefficients[0] == other and not any(self.coefficients[1:])
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:  # elements are keys of the certifiers' caches: hash the coefficients once
            self._hash = hash((self.n, self.coefficients))
        return self._hash

    def _integer_key(self) -> tuple[int, ...] | None:
        """The coefficients as (numerator, denominator) integers, equal exactly when the coefficients are (Fractions
        are kept in lowest terms); elements are compared as the certifiers' cache keys, and integers compare
        faster than Fractions. None if a coefficient is not a Fraction or int."""
        if self._key is None:
            if all(type(c) is Fraction or type(c) is int for c in self.coefficients):
                self._key = tuple(v for c in self.coefficients for v in (c.numerator, c.denominator))
            else:
                self._key = False
        return self._key or None

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


def lift(element: Cyclotomic, n: int) -> Cyclotomic:
    """``element`` of Q(zeta_m) as an element of Q(zeta_n) (m must divide n): zeta_m = zeta_n^(n / m)."""
    if n % element.n:
        raise ValueError(f"Q(zeta_{element.n}) is not a subfield of Q(zeta_{n})")
    factor = n // element.n
    return Cyclotomic.from_powers(n, {j * factor: c for j, c in enumerate(element.coefficients) if c})


def _common(a: Cyclotomic, b: Cyclotomic) -> tuple[Cyclotomic, Cyclotomic]:
    n = a.n * b.n // math.gcd(a.n, b.n)
    return lift(a, n), lift(b, n)


def _solve(columns: list[tuple[Fraction, ...]], target: tuple[Fraction, ...]) -> tuple[Fraction, ...]:
    """The rational x with sum_j x_j columns[j] = target (the columns are a basis), by Gauss-Jordan."""
    size = len(target)
    rows = [[columns[j][i] for j in range(size)] + [target[i]] for i in range(size)]
    for c in range(size):
        pivot = next(r for r in range(c, size) if rows[r][c])
        rows[c], rows[pivot] = rows[pivot], rows[c]
        head = rows[c][c]
        rows[c] = [v / head for v in rows[c]]
        for r in range(size):
            if r != c and rows[r][c]:
                factor = rows[r][c]
                rows[r] = [v - factor * w for v, w in zip(rows[r], rows[c])]
    return tuple(row[-1] for row in rows)


def inverse(element: Cyclotomic) -> Cyclotomic:
    """1 / element (nonzero): the coefficients c with element * sum c_j zeta^j = 1, a rational linear system."""
    if element.is_zero():
        raise ZeroDivisionError("division by an algebraic zero")
    degree = len(element.coefficients)
    columns = [(element * Cyclotomic.from_powers(element.n, {j: Fraction(1)})).coefficients for j in range(degree)]
    return Cyclotomic(element.n, _solve(columns, (Fraction(1),) + (Fraction(0),) * (degree - 1)))


class Algebraic:
    """An irrational real number of a cyclotomic field (``real`` keeps rationals as ``Fraction``): exact sums,
    products, quotients and proved comparisons, so that a program's constants such as cos(2 pi / 12) or
    sqrt(3) / 2 are exact values; ``bounds`` encloses it between rationals, ``float`` rounds it."""

    __slots__ = ("element",)

    def __init__(self, element: Cyclotomic):
        self.element = element

    @staticmethod
    def _of(value) -> Cyclotomic | None:
        if isinstance(value, Algebraic):
            return value.element
        if isinstance(value, (int, Fraction)):
            return Cyclotomic.rational(1, Fraction(value))
        return None

    def _apply(self, other, operation, reflected: bool = False):
        theirs = Algebraic._of(other)
        if theirs is None:
            return NotImplemented
        a, b = _common(self.element, theirs)
        return real(operation(b, a) if reflected else operation(a, b))

    def __add__(self, other):
        return self._apply(other, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other):
        return self._apply(other, lambda a, b: a - b)

    def __rsub__(self, other):
        return self._apply(other, lambda a, b: a - b, reflected=True)

    def __mul__(self, other):
        return self._apply(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._apply(other, lambda a, b: a * inverse(b))

    def __rtruediv__(self, other):
        return self._apply(other, lambda a, b: a * inverse(b), reflected=True)

    def __pow__(self, exponent: int):
        if not isinstance(exponent, int):
            return NotImplemented
        base = self if exponent >= 0 else 1 / self
        result: Fraction | Algebraic = Fraction(1)
        for _ in range(abs(exponent)):
            result = result * base
        return result

    def __neg__(self) -> Algebraic:
        return Algebraic(-self.element)

    def __pos__(self) -> Algebraic:
        return self

    def __abs__(self) -> Algebraic:
        return -self if self.sign() < 0 else self

    def sign(self) -> int:
        return self.element.sign()

    def _compare(self, other) -> int | None:
        difference = self - other
        if difference is NotImplemented:
            return None
        return difference.sign() if isinstance(difference, Algebraic) else (difference > 0) - (difference < 0)

    def __eq__(self, other) -> bool:
        if not isinstance(other, (int, Fraction, Algebraic)):
            return False
        return self._compare(other) == 0

    def __lt__(self, other) -> bool:
        if isinstance(other, float):  # +-inf in interval bounds
            return float(self) < other
        return self._compare(other) < 0

    def __le__(self, other) -> bool:
        return self == other or self < other

    def __gt__(self, other) -> bool:
        if isinstance(other, float):
            return float(self) > other
        return self._compare(other) > 0

    def __ge__(self, other) -> bool:
        return self == other or self > other

    def __hash__(self) -> int:
        # equal values may be stored in different fields (sqrt(3) in Q(zeta_12) or Q(zeta_24)): no canonical form
        # to hash, so all share one bucket and equality decides
        return hash(Algebraic)

    def bounds(self, bits: int = START_BITS) -> tuple[Fraction, Fraction]:
        """Rationals lo < self < hi with hi - lo < 2^-(bits - 4) (times the coefficients' sizes)."""
        return self.element.enclosure(bits)

    def __float__(self) -> float:
        lo, hi = self.bounds(80)
        return float((lo + hi) / 2)

    def __repr__(self) -> str:
        return f"Algebraic({float(self)!r}, {self.element!r})"

    def __str__(self) -> str:
        return f"{float(self):.17g}"


Number = Fraction | Algebraic  # an exact real constant of a program


def real(element: Cyclotomic) -> Number:
    """A real element of a cyclotomic field as a ``Fraction`` when it is rational, else an ``Algebraic``."""
    if not any(element.coefficients[1:]):
        return element.coefficients[0]
    return Algebraic(element)


def cos_pi(r: Fraction) -> Fraction | Algebraic:
    """cos(r pi) for a rational r, exactly: (zeta^a + zeta^-a) / 2 in Q(zeta_2b), r = a / b."""
    r = Fraction(r)
    n = 2 * r.denominator
    return real(Cyclotomic.cos(n, r.numerator, n))


def sin_pi(r: Fraction) -> Fraction | Algebraic:
    """sin(r pi) for a rational r, exactly, in Q(zeta_n) with n = lcm(4, 2b)."""
    r = Fraction(r)
    m = 2 * r.denominator
    n = m * 4 // math.gcd(m, 4)
    return real(Cyclotomic.sin(n, r.numerator, m))


MAX_RADICAND = 10_000


def sqrt_rational(q: Fraction) -> Fraction | Algebraic:
    """The nonnegative square root of a rational q >= 0, exactly: s sqrt(m) / b for a b = s^2 m with m square-free,
    and sqrt(m) the product of sqrt(p) over its primes (sqrt(2) = zeta_8 + zeta_8^-1; for odd p the quadratic Gauss
    sum g = sum (j/p) zeta_p^j, g^2 = (-1)^((p-1)/2) p), with the sign proved. Raises ValueError for q < 0 and for a
    square-free part above MAX_RADICAND (its field would be large)."""
    import sympy  # here, not at the top: most commands never need it

    q = Fraction(q)
    if q < 0:
        raise ValueError(f"sqrt of the negative number {q}")
    if q == 0:
        return q
    square, free = 1, 1
    for p, e in sympy.factorint(q.numerator * q.denominator).items():
        square *= p ** (e // 2)
        free *= p ** (e % 2)
    if free > MAX_RADICAND:
        raise ValueError(f"sqrt({q}) has the square-free part {free}, above the {MAX_RADICAND} lsrl supports")
    root: Fraction | Algebraic = Fraction(square, q.denominator)
    for p in sympy.primefactors(free):
        root = root * _sqrt_prime(p)
    return root


@functools.lru_cache(maxsize=None)
def _sqrt_prime(p: int) -> Algebraic:
    import sympy

    if p == 2:
        candidate = Cyclotomic.from_powers(8, {1: Fraction(1), 7: Fraction(1)})
    else:
        n = 4 * p
        gauss = Cyclotomic.from_powers(n, {4 * j: Fraction(sympy.legendre_symbol(j, p)) for j in range(1, p)})
        candidate = gauss if p % 4 == 1 else gauss * Cyclotomic.from_powers(n, {p: Fraction(1)})
    if candidate * candidate != p:
        raise AssertionError(f"the square root of {p} squares to {candidate * candidate}")
    return Algebraic(candidate if candidate.sign() > 0 else -candidate)


def from_sympy(expr) -> Number | None:
    """A real sympy expression built from rationals, square roots of rationals, sums, products and integer powers
    as an exact ``Fraction`` or ``Algebraic``; None for anything else (a nested radical, a transcendental)."""
    import sympy

    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if expr.is_Add or expr.is_Mul:
        parts = [from_sympy(a) for a in expr.args]
        if any(p is None for p in parts):
            return None
        total: Number = parts[0]
        for p in parts[1:]:
            total = total + p if expr.is_Add else total * p
        return total
    if expr.is_Pow and expr.exp.is_Integer:
        base = from_sympy(expr.base)
        return None if base is None or (base == 0 and expr.exp < 0) else base ** int(expr.exp)
    if expr.is_Pow and expr.base.is_Rational and expr.base >= 0 and expr.exp in (sympy.S.Half, -sympy.S.Half):
        root = sqrt_rational(Fraction(int(expr.base.p), int(expr.base.q)))
        return root if expr.exp > 0 else 1 / root
    return None


def to_sympy(value: Number):
    """A Fraction or Algebraic as an exact sympy number: sum_j c_j (cos(2 pi j / n) + i sin(2 pi j / n)), whose
    imaginary part cancels (the value is real); sympy writes the cosines of small orders as radicals."""
    import sympy

    if not isinstance(value, Algebraic):
        return sympy.Rational(value.numerator, value.denominator)
    n, terms = value.element.n, value.element.coefficients
    return sympy.expand(sum(sympy.Rational(c.numerator, c.denominator) * sympy.cos(2 * sympy.pi * j / n)
                            for j, c in enumerate(terms) if c))


def exact_root(c: int, m: int) -> tuple[float, float]:
    """(cos, sin) of 2 pi c / m as correctly rounded doubles (exactly 0 or +-1 when 4c/m is an integer)."""
    c %= m
    if (4 * c) % m == 0:
        return {0: (1.0, 0.0), 1: (0.0, 1.0), 2: (-1.0, 0.0), 3: (0.0, -1.0)}[4 * c // m]
    angle = 2 * math.pi * c / m
    return math.cos(angle), math.sin(angle)


def root_of_unity(c: int, m: int) -> tuple[float, float]:
    """float32 (cos, sin) of 2 pi c / m inside the closed unit disk: of the (up to four) pairs whose
    components are the float32 neighbours of cos and sin nearest to the root and toward zero, the
    nearest one with u^2 + w^2 <= 1 exactly (the plain float32 rounding of an order-5 root has
    u^2 + w^2 = 1 + 5e-8). Exact for orders 1, 2, 4."""
    cos, sin = exact_root(c, m)
    pairs = [(u, w) for u in _float32_neighbours(cos) for w in _float32_neighbours(sin)
             if Fraction(u) ** 2 + Fraction(w) ** 2 <= 1]
    return min(pairs, key=lambda p: math.hypot(p[0] - cos, p[1] - sin))


def _float32_neighbours(x: float) -> tuple[float, ...]:
    """The float32 nearest to x and, when that one is larger in modulus, the float32 next to it toward zero."""
    nearest = np.float32(x)
    toward_zero = np.nextafter(nearest, np.float32(0)) if abs(float(nearest)) > abs(x) else nearest
    return tuple({float(nearest), float(toward_zero)})

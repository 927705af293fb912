"""Bounded-length certificates for rotation models whose gates are roots of unity of orders other than 1, 2, 4:
the exact-root model is right at every length, the float32 model up to a proved length.
Proof: docs/theorems.md#bounded-certificates
"""
from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from automata.dfa import DFA
from automata.fileformat import dfa_from_json, dfa_to_json
from proofs.cyclotomic import Cyclotomic, root_of_unity
from proofs.document import CertificateError, header
from proofs.float_error import FLOAT32_UNIT, GRID, gamma, sqrt_up, to_grid_ceil, up
from proofs.rational import to_rational

if TYPE_CHECKING:
    from models.stack import RecurrentModel

KIND = "bounded"
SQRT2_UP = Fraction(99, 70)
MAX_LENGTH = 2 ** 62
_QUARTER_TURNS = {(1, 0), (-1, 0), (0, 1), (0, -1)}
ASSUMPTIONS = ("IEEE binary32 arithmetic, round to nearest, any summation order in matrix products (no TF32 "
               "or other reduced-precision accumulation)",
               "the recurrence h_t = a_t h_{t-1} + b_t evaluated step by step in complex64 "
               "(kernels.scan.naive, the CPU path); the chunked Triton scan multiplies gates in another "
               "order and is not covered",
               "each complex product has relative error at most sqrt(2) gamma_2 (Higham 2002, Lemma 3.5; "
               "true with and without fused multiply-add)")
PAIRED_ROWS = ("the two rows of a clipped detector pair relu(s) - relu(s - d) (equal weights) compute the same "
               "float dot product and then add their own bias: fl(D_hat + c) and fl(D_hat + c - d) (how a GEMM "
               "evaluates identical columns with beta = 1 bias accumulation in one K block); this is stronger "
               "than any summation order, under which such a pair is off from d by rounding")


_ZERO = Fraction(0)


class BoundedCertificateError(CertificateError):
    """A bounded certificate that does not check; the message names the check, layer and value."""


def _upper(v: Cyclotomic | Fraction) -> Fraction:
    return _cyclotomic_upper(v) if isinstance(v, Cyclotomic) else abs(v)


@functools.lru_cache(maxsize=1 << 16)
def _cyclotomic_upper(v: Cyclotomic) -> Fraction:
    """Exact-root values recur across steps and across the budget search: enclose each once."""
    return v.upper()


def _sign(v: Cyclotomic | Fraction) -> int:
    return _cyclotomic_sign(v) if isinstance(v, Cyclotomic) else (v > 0) - (v < 0)


@functools.lru_cache(maxsize=1 << 18)
def _cyclotomic_sign(v: Cyclotomic) -> int:
    return v.sign()


@functools.lru_cache(maxsize=1 << 18)
def _enclosure(v: Cyclotomic) -> tuple[Fraction, Fraction]:
    return v.enclosure()


def _sign_shifted(v: Cyclotomic | Fraction, shift: Fraction) -> int:
    """The exact sign of v + shift (shift rational): decided from v's cached enclosure [lo, hi] when
    [lo + shift, hi + shift] excludes 0, else exactly; the same value as ``_sign(v + shift)``."""
    if not isinstance(v, Cyclotomic):
        return _sign(v + shift)
    lo, hi = _enclosure(v)
    if lo + shift > 0:
        return 1
    if hi + shift < 0:
        return -1
    return _sign(v + shift)


@functools.lru_cache(maxsize=1 << 18)
def _grid_thresholds(v: Cyclotomic, offset: Fraction) -> tuple[int, int]:
    """With [lo, hi] v's cached enclosure moved by ``offset``: (floor(-lo GRID), ceil(-hi GRID)); for an integer
    m, lo + m / GRID > 0 iff m > the first, and hi + m / GRID < 0 iff m < the second."""
    lo, hi = _enclosure(v)
    return math.floor(-(lo + offset) * GRID), math.ceil(-(hi + offset) * GRID)


@functools.lru_cache(maxsize=1 << 18)
def _grid_thresholds_unshifted(v: Cyclotomic) -> tuple[int, int]:
    """``_grid_thresholds(v, 0)``, keyed by v alone (a Fraction's hash is not cached)."""
    return _grid_thresholds(v, Fraction(0))


def _sign_shifted_grid(v: Cyclotomic | Fraction, m: int, offset: Fraction | None = None) -> int:
    """``_sign_shifted(v, offset + m / GRID)`` (the same value, offset 0 if None), its enclosure test in integers."""
    if isinstance(v, Cyclotomic):
        above, below = _grid_thresholds(v, offset) if offset else _grid_thresholds_unshifted(v)
        if m > above:
            return 1
        if m < below:
            return -1
    elif offset is None:  # sign(v + m / GRID) = sign(v.numerator GRID + m v.denominator)
        total = v.numerator * GRID + m * v.denominator
        return (total > 0) - (total < 0)
    return _sign(v + ((offset or Fraction(0)) + _from_grid(m)))


def _modulus_up(re: Cyclotomic | Fraction, im: Cyclotomic | Fraction) -> Fraction:
    """sqrt_up(_upper(re re + im im)): an upper bound on |re + i im| on the grid."""
    return _modulus_up_typed(re, im, isinstance(re, Cyclotomic), isinstance(im, Cyclotomic))


@functools.lru_cache(maxsize=1 << 16)
def _modulus_up_typed(re, im, re_cyclotomic: bool, im_cyclotomic: bool) -> Fraction:
    """Cached by value and type (a rational's ``_upper`` depends on whether it is a Cyclotomic): gates and
    states recur across steps."""
    return sqrt_up(_upper(re * re + im * im))


def _rational_part(v: Cyclotomic | Fraction) -> Fraction | None:
    """v as a rational when it is one (a Cyclotomic with only the constant coefficient), else None."""
    if not isinstance(v, Cyclotomic):
        return Fraction(v)
    return None if any(v.coefficients[1:]) else v.coefficients[0]


def _relu(v: Cyclotomic | Fraction) -> Cyclotomic | Fraction:
    return v if _sign(v) > 0 else _ZERO


@dataclass(frozen=True)
class GateRoot:
    """Weight ``parameter[row, column]`` (column -1: a bias) stands for sign * part(2 pi k / m) + offset
    (offset -1: the weight cos - 1 added to a gate's bias 1, as the permuting cascades store a rotation)."""

    layer: int
    parameter: str
    row: int
    column: int
    k: int
    m: int
    part: str  # "cos" or "sin"
    sign: int
    offset: int = 0

    def exact(self, n: int) -> Cyclotomic:
        value = (Cyclotomic.cos if self.part == "cos" else Cyclotomic.sin)(n, self.k, self.m)
        return (value if self.sign > 0 else -value) + self.offset

    def describe(self) -> str:
        index = f"[{self.row}]" if self.column < 0 else f"[{self.row}, {self.column}]"
        shift = f" {'-' if self.offset < 0 else '+'} {abs(self.offset)}" if self.offset else ""
        return (f"{self.parameter}{index}, standing for {'-' if self.sign < 0 else ''}{self.part}(2 pi "
                f"{self.k}/{self.m}){shift}")

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "parameter": self.parameter, "row": self.row, "column": self.column,
                "root": f"{self.k}/{self.m}", "part": self.part, "sign": self.sign,
                **({"offset": self.offset} if self.offset else {})}

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> GateRoot:
        """The gate of a certificate's ``gates`` list; ValueError for a field out of its range (a root of order
        below 1, a negative index, a sign other than +-1, a layer other than its parameter's)."""
        k, m = (int(x) for x in str(item["root"]).split("/"))
        root = cls(int(item["layer"]), str(item["parameter"]), int(item["row"]), int(item["column"]), k, m,
                   str(item["part"]), int(item["sign"]), int(item.get("offset", 0)))
        if m < 1 or root.row < 0 or root.column < -1 or root.sign not in (1, -1) or root.part not in ("cos", "sin") \
                or not root.parameter.startswith(f"blocks.{root.layer}."):
            raise ValueError(f"gate {root.describe()!r} of layer {root.layer}: a field out of range")
        return root


def check_budgets(orders: list[int], budgets: tuple[Fraction, ...]) -> None:
    """A bounded document's orders (each >= 1) and state error budgets (each >= 0; 0 for a layer without error):
    where a layer's growth exceeds 1, a negative budget B makes ``layer_safe_length``'s quotient
    B / (K + B (A - 1)) positive, a length proved from nothing; an order of 0 divides by zero."""
    if any(m < 1 for m in orders) or any(b < 0 for b in budgets):
        raise ValueError(f"orders must be >= 1 and budgets >= 0, got {orders} and {[str(b) for b in budgets]}")


def field_order(orders: list[int]) -> int:
    """N = lcm(4, orders): Q(zeta_N) holds cos and sin of every root of these orders."""
    return math.lcm(4, *orders)


def _gate_parameters(model: RecurrentModel) -> list[tuple[int, str]]:
    names = []
    for layer, block in enumerate(model.blocks):
        names += [(layer, f"blocks.{layer}.recurrence.{p}") for p in ("to_a.weight", "to_a.bias", "to_b.weight",
                                                                       "to_b.bias")]
        if block.mlp is not None:
            names.append((layer, f"blocks.{layer}.mlp.down.weight"))
    return names


def find_gate_roots(model: RecurrentModel, orders: list[int]) -> tuple[GateRoot, ...]:
    """Every gate-side weight (recurrence gates and inputs, MLP outputs) whose value is +- the stored
    part of a root of unity of one of these orders (``cyclotomic.root_of_unity``), or the float32 cos - 1,
    and not that value exactly."""
    n = field_order(orders)
    table: dict[Fraction, tuple[int, int, str, int, int]] = {}
    for m in orders:
        for k in range(m):
            for part, value in zip(("cos", "sin"), root_of_unity(k, m)):
                for sign in (1, -1):
                    candidate = GateRoot(0, "", 0, 0, k, m, part, sign)
                    if candidate.exact(n) != Fraction(sign * value):
                        table.setdefault(Fraction(sign * value), (k, m, part, sign, 0))
            cos = root_of_unity(k, m)[0]
            shifted = Fraction(float(np.float32(cos - 1.0)))
            if GateRoot(0, "", 0, 0, k, m, "cos", 1, -1).exact(n) != shifted:
                table.setdefault(shifted, (k, m, "cos", 1, -1))
    weights = model.state_dict()
    roots = []
    for layer, name in _gate_parameters(model):
        values = weights[name].detach().double().numpy()
        matrix = values.reshape(-1, 1) if values.ndim == 1 else values
        for row, column in zip(*np.nonzero(matrix)):
            hit = table.get(Fraction(float(matrix[row, column])))
            if hit is not None:
                roots.append(GateRoot(layer, name, int(row), -1 if values.ndim == 1 else int(column), *hit))
    return tuple(roots)


def _entry(weights: dict[str, np.ndarray], root: GateRoot) -> Fraction:
    w = weights[root.parameter]
    return w[root.row] if root.column < 0 else w[root.row, root.column]


def check_gates(weights: dict[str, np.ndarray], roots: tuple[GateRoot, ...], n: int) -> dict[tuple, Fraction]:
    """(ii): the upper bound on |stored - exact| of every listed weight (keyed by (parameter, row, column));
    raises if a listed weight does not exist."""
    errors = {}
    for root in roots:
        if root.parameter not in weights:
            raise BoundedCertificateError(f"layer {root.layer}: the model has no parameter {root.parameter}", check="ii")
        try:
            stored = _entry(weights, root)
        except IndexError:
            raise BoundedCertificateError(f"layer {root.layer}: no entry {root.describe()}", check="ii") from None
        errors[root.parameter, root.row, root.column] = up((root.exact(n) - stored).upper())
    return errors


def check_unit_disk(weights: dict[str, np.ndarray], roots: tuple[GateRoot, ...]) -> Fraction:
    """The spectral claim on the stored gates: each (cos, sin) pair of one root in one column has
    u^2 + w^2 <= 1 exactly; returns the largest squared modulus."""
    pairs: dict[tuple, dict[str, Fraction]] = {}
    for root in roots:
        pairs.setdefault((root.layer, root.parameter, root.column, root.k, root.m, root.sign), {})[root.part] = \
            _entry(weights, root) - root.offset
    largest = Fraction(0)
    for (layer, parameter, column, k, m, _), parts in pairs.items():
        modulus = parts.get("cos", Fraction(0)) ** 2 + parts.get("sin", Fraction(0)) ** 2
        if modulus > 1:
            raise BoundedCertificateError(f"layer {layer} (diag-complex): the stored gate for root {k}/{m} in "
                                          f"{parameter}[:, {column}] is {parts.get('cos', 0)} + "
                                          f"{parts.get('sin', 0)}i with modulus^2 {float(modulus)!r} > 1", check="ii")
        largest = max(largest, modulus)
    return largest


@dataclass
class _Linear:
    """A float32 linear map y = W x + c next to its exact-root counterpart, row by row (nonzero entries)."""

    rows: list[list[tuple[int, Fraction, Cyclotomic | Fraction, Fraction]]]  # (column, stored, ideal, |error|)
    bias: list[tuple[Fraction, Cyclotomic | Fraction, Fraction]]
    _ideal_cache: dict = field(default_factory=dict, repr=False, compare=False)
    _tables: Any = field(default=None, repr=False, compare=False)
    _columns: Any = field(default=None, repr=False, compare=False)
    _rational: Any = field(default=None, repr=False, compare=False)
    _interned: dict = field(default_factory=dict, repr=False, compare=False)  # ``_ideal_of``'s values

    def ideal(self, x) -> tuple:
        """The exact-root W x + c (x a tuple), cached: the same stream recurs across nodes and budgets."""
        out = self._ideal_cache.get(x)
        if out is None:
            out = self._ideal_cache[x] = self._ideal_of(x)
        return out

    def _ideal_of(self, x) -> tuple:
        """W x + c as ``_dot`` of every row over its entries with x_j != 0 (the same values and types). With rational
        ideal weights and biases, in integers: the weights over one denominator, the stream's nonzero entries
        over another, each coefficient summed exactly and made a Fraction once; rows with the same entries
        (a clipped pair's) share their sums."""
        tables = self._rational_tables()
        live: dict[int, Any] = {}  # the nonzero x_j
        field_n, degree = None, 1
        for j, xj in enumerate(x):
            if isinstance(xj, Cyclotomic):
                if xj.is_zero():
                    continue
                if field_n is not None and xj.n != field_n:
                    tables = None  # mixed fields: ``_dot`` raises
                field_n, degree = xj.n, len(xj.coefficients)
            elif xj == 0:
                continue
            live[j] = xj
        if tables is None:
            return self._ideal_by_rows(x, live)
        values = [c for xj in live.values() for c in (xj.coefficients if isinstance(xj, Cyclotomic) else (xj,))]
        scale_x = math.lcm(*(c.denominator for c in values)) if values else 1
        stream = {j: (True, [c.numerator * (scale_x // c.denominator) for c in xj.coefficients])
                  if isinstance(xj, Cyclotomic) else
                  (False, [xj.numerator * (scale_x // xj.denominator)] + [0] * (degree - 1))
                  for j, xj in live.items()}
        scale_w, groups = tables
        scale = scale_w * scale_x
        out = [None] * len(self.rows)
        for entries, rows in groups:
            sums, cyclotomic, any_live = [0] * degree, False, False
            for j, w in entries:
                term = stream.get(j)
                if term is None:
                    continue
                any_live = True
                cyclotomic = cyclotomic or term[0]
                sums = [a + w * b for a, b in zip(sums, term[1])]
            if not any_live:
                for i in rows:
                    out[i] = self.bias[i][1]
                continue
            # the value is bias_i + sums / scale: equal keys give equal values, and reusing the object makes
            # the caches' lookups identity checks with a stored hash (hidden values recur across streams)
            key, tail = (scale, field_n if cyclotomic else None, *sums), None
            for i in rows:
                value = self._interned.get((i, key))
                if value is None:
                    bias = self.bias[i][1]
                    head = Fraction(sums[0] * bias.denominator + bias.numerator * scale, scale * bias.denominator)
                    if cyclotomic and tail is None:
                        tail = tuple(Fraction(v, scale) if v else _ZERO for v in sums[1:])
                    value = self._interned[i, key] = Cyclotomic(field_n, (head, *tail)) if cyclotomic else head
                out[i] = value
        return tuple(out)

    def _ideal_by_rows(self, x, live: dict) -> tuple:
        if self._columns is None:
            columns: dict[int, list] = {}
            for i, row in enumerate(self.rows):
                for entry in row:
                    columns.setdefault(entry[0], []).append((i, entry))
            self._columns = columns
        entries: dict[int, list] = {}
        for j in live:
            for i, entry in self._columns.get(j, ()):
                entries.setdefault(i, []).append(entry)
        return tuple(_dot(entries[i], b_ideal, x) if i in entries else b_ideal
                     for i, (_, b_ideal, _) in enumerate(self.bias))

    def _rational_tables(self):
        """(D, groups) when every ideal weight and bias is a Fraction: the weights as integers over D (their common
        denominator), rows with the same (column, weight) entries grouped; None otherwise."""
        if self._rational is None:
            weights = [w for row in self.rows for _, _, w, _ in row]
            if all(type(w) is Fraction for w in weights) and all(type(b) is Fraction for _, b, _ in self.bias):
                scale = math.lcm(*(w.denominator for w in weights)) if weights else 1
                groups: dict[tuple, list[int]] = {}
                for i, row in enumerate(self.rows):
                    groups.setdefault(tuple((j, w.numerator * (scale // w.denominator)) for j, _, w, _ in row),
                                      []).append(i)
                self._rational = (scale, list(groups.items()))
            else:
                self._rational = False
        return self._rational or None

    @classmethod
    def build(cls, stored: dict, ideal: dict, errors: dict, weight: str, bias: str | None) -> _Linear:
        w, wi = stored[weight], ideal[weight]
        rows = [[(j, w[i, j], wi[i, j], errors.get((weight, i, j), Fraction(0))) for j in np.flatnonzero(w[i] != 0)]
                for i in range(w.shape[0])]
        if bias is None:
            out_bias = [(Fraction(0), Fraction(0), Fraction(0))] * w.shape[0]
        else:
            out_bias = [(stored[bias][i], ideal[bias][i], errors.get((bias, i, -1), Fraction(0)))
                        for i in range(w.shape[0])]
        return cls(rows, out_bias)

    def apply(self, x: list, magnitude: list[Fraction], deviation: list[Fraction]):
        """Ideal y, and per row the perturbation bound |W_hat x_hat + c_hat - (W x + c)| and the rounding bound."""
        ideal, perturbation, rounding = self.apply_grid(x, magnitude, deviation)
        return ideal, [_from_grid(p) for p in perturbation], [_from_grid(r) for r in rounding]

    def apply_grid(self, x: list, magnitude: list[Fraction], deviation: list[Fraction], ideal: tuple | None = None):
        """``apply`` with both bounds as integers over GRID (each is a grid point: rounded up with ``up``);
        ``ideal``, when given, is ``self.ideal(tuple(x))``."""
        ideal = list(self.ideal(tuple(x)) if ideal is None else ideal)
        m_int, d_int = _grid_ints(magnitude), _grid_ints(deviation)
        tables = self._integer_tables()
        if m_int is None or d_int is None or tables is None:
            perturbation, rounding = self._bounds_fraction(x, magnitude, deviation)
            return ideal, [_to_grid(p) for p in perturbation], [_to_grid(r) for r in rounding]
        shift = scale = tables[0]
        perturbation, rounding = [], []
        for _row, b, (b_err, b_size, entries) in zip(self.rows, self.bias, tables[2]):
            pert, size, terms = b_err, b_size, [b[0]] if b[0] != 0 else []
            for j, w_abs, err in entries:
                mj, dj = m_int[j], d_int[j]
                if not (mj or dj):
                    continue  # an exact zero term
                terms.append(x[j] if dj == 0 else None)
                pert += err * mj + w_abs * dj
                size += w_abs * (mj + dj)
            perturbation.append(-((-pert) >> shift))
            n = _rounded_terms(terms)  # up(gamma(n, FLOAT32_UNIT) * size), gamma_n = n / (2^24 - n):
            rounding.append(-((-n * size) // ((2 ** 24 - n) << scale)) if n and size else 0)
        return ideal, perturbation, rounding

    def _integer_tables(self):
        """The row data as integers for ``apply``: with every |stored weight| a multiple of 2^-a and every
        error bound of 2^-80, and inputs on the grid 2^-80, pert is an integer over 2^(80 + t), t = max(80, a),
        and so is size, so both bounds are exact integer sums, rounded up to 2^-80 once (the
        same value as the Fraction sums; ``_bounds_fraction`` is the fallback). None if an error bound is
        off the grid."""
        if self._tables is None:
            values = [abs(w) for row in self.rows for _, w, _, _ in row] + [abs(b) for b, _, _ in self.bias]
            errors = [e for row in self.rows for _, _, _, e in row] + [e for _, _, e in self.bias]
            if any(GRID % Fraction(e).denominator for e in errors):
                self._tables = False
                return None
            a = max((Fraction(v).denominator.bit_length() - 1 for v in values), default=0)
            if any((Fraction(v) * 2 ** a).denominator != 1 for v in values):
                self._tables = False
                return None
            t = max(80, a)
            tables = []
            for row, (b, _, b_error) in zip(self.rows, self.bias):
                entries = [(j, int(abs(w) * 2 ** a) << (t - a), int(error * GRID) << (t - 80)) for j, w, _, error in row]
                # pert over 2^(80 + t), size over 2^(80 + a)
                tables.append((int(b_error * GRID) << t, int(abs(b) * 2 ** a) << (t - a + 80),
                               [(j, w_abs, err) for j, w_abs, err in entries]))
            self._tables = (t, a, tables)
        return self._tables or None

    def _bounds_fraction(self, x: list, magnitude: list[Fraction], deviation: list[Fraction]):
        perturbation, rounding = [], []
        for row, (b, _b_ideal, b_error) in zip(self.rows, self.bias):
            pert, size, terms = b_error, abs(b), [b] if b != 0 else []
            for j, w, _w_ideal, error in row:
                xj, mj, dj = x[j], magnitude[j], deviation[j]
                if not (mj or dj):
                    continue  # an exact zero term
                terms.append(xj if dj == 0 else None)
                if error:
                    pert += error * mj
                if dj:
                    pert += abs(w) * dj
                size += abs(w) * (mj + dj)
            perturbation.append(up(pert))
            rounding.append(up(gamma(_rounded_terms(terms), FLOAT32_UNIT) * size))
        return perturbation, rounding

    def is_zero_row(self, i: int) -> bool:
        return not self.rows[i] and self.bias[i][0] == 0 and self.bias[i][1] == 0


def _dot(row, bias, x):
    """bias + sum of w_ideal x_j over the row's entries with x_j != 0, accumulated coefficient by
    coefficient: the same value, and the same type (Cyclotomic as soon as a term or the bias is one), as
    adding the terms one by one."""
    rational = Fraction(0) if isinstance(bias, Cyclotomic) else bias
    coefficients, n = (list(bias.coefficients), bias.n) if isinstance(bias, Cyclotomic) else (None, 0)
    for j, _, w, _ in row:
        xj = x[j]
        if isinstance(xj, Cyclotomic):
            if xj.is_zero():
                continue
            term = w * xj if isinstance(w, Cyclotomic) else None
        elif xj == 0:
            continue
        elif isinstance(w, Cyclotomic):
            term = w * xj
        else:
            rational = rational + w * xj
            continue
        if term is None:  # a rational weight times a cyclotomic value
            if coefficients is None:
                coefficients, n = [Fraction(0)] * len(xj.coefficients), xj.n
            elif n != xj.n:
                raise ValueError(f"elements of Q(zeta_{n}) and Q(zeta_{xj.n}) do not mix")
            for k, c in enumerate(xj.coefficients):
                if c:
                    coefficients[k] += w * c
        else:
            if coefficients is None:
                coefficients, n = [Fraction(0)] * len(term.coefficients), term.n
            elif n != term.n:
                raise ValueError(f"elements of Q(zeta_{n}) and Q(zeta_{term.n}) do not mix")
            for k, c in enumerate(term.coefficients):
                if c:
                    coefficients[k] += c
    if coefficients is None:
        return rational
    coefficients[0] += rational
    return Cyclotomic(n, tuple(coefficients))


_GRID_FRACTIONS: dict[int, Fraction] = {}  # the same bounds recur at every step: each Fraction made once


def _from_grid(n: int) -> Fraction:
    """n / GRID."""
    value = _GRID_FRACTIONS.get(n)
    if value is None:
        if len(_GRID_FRACTIONS) >= 1 << 16:
            _GRID_FRACTIONS.clear()
        value = _GRID_FRACTIONS[n] = Fraction(n, GRID)
    return value


def _to_grid(v: Fraction) -> int:
    """A grid point (a multiple of 1 / GRID) as its integer over GRID."""
    (n,) = _grid_ints([v]) or (None,)
    if n is None:
        raise ValueError(f"{v} is not on the grid")
    return n


def _grid_ints(values) -> list[int] | None:
    """Nonnegative rationals as integer multiples of 2^-80, or None if one is not on that grid."""
    out = []
    for v in values:
        if not v:
            out.append(0)
            continue
        q, r = divmod(GRID, v.denominator)
        if r:
            return None
        out.append(v.numerator * q)
    return out


def _rounded_terms(terms: list) -> int:
    """The n of gamma_n for a float dot product: 0 when it is one stored weight times an exact +-1 (or
    nothing), else the number of terms that can be nonzero."""
    if not terms or (len(terms) == 1 and terms[0] in (1, -1)):
        return 0
    return len(terms)


def _add_to_stream(x, magnitude, deviation, y, pert, rounding, linear: _Linear):
    """x + y elementwise in float: one more rounding where y is not identically zero."""
    out_x, out_m, out_d = list(x), list(magnitude), list(deviation)
    for i in range(len(x)):
        if linear.is_zero_row(i):
            continue
        out_x[i] = x[i] + y[i]
        dy = pert[i] + rounding[i]
        if magnitude[i] == 0 and deviation[i] == 0:  # x is exactly 0 in float: 0 + y_hat = y_hat
            out_d[i] = dy
        else:
            y_size = _upper(y[i])
            out_d[i] = up(deviation[i] + dy + FLOAT32_UNIT * (magnitude[i] + deviation[i] + y_size + dy))
        out_m[i] = up(_upper(out_x[i]))
    return out_x, out_m, out_d


@dataclass
class _Block:
    to_a: _Linear
    to_b: _Linear
    out: _Linear
    up: _Linear | None
    down: _Linear | None
    pairs: list[tuple[int, ...]]  # hidden units: (k,) a ReLU, (k, k + 1) a clipped pair relu(s) - relu(s - d)
    channels: int
    b_zero: bool
    ideal_cache: dict = field(default_factory=dict, repr=False, compare=False)
    stream_cache: dict = field(default_factory=dict, repr=False, compare=False)  # ``_mlp``'s ideal part
    pair_windows: dict = field(default_factory=dict, repr=False, compare=False)  # ``_exact_pair``'s bias data
    pair_rooms: dict = field(default_factory=dict, repr=False, compare=False)  # ``_exact_pair``'s room per (k, s)


def _units(stored: dict, ideal: dict, prefix: str, hidden: int) -> list[tuple[int, ...]]:
    """Group hidden units into clipped pairs relu(s) - relu(s - d) (identical up rows, biases c and c - d
    with d > 0, opposite down columns, stored and ideal) and single ReLUs."""
    up, bias = stored[prefix + "up.weight"], stored[prefix + "up.bias"]
    down, down_ideal = stored[prefix + "down.weight"], ideal[prefix + "down.weight"]
    units, k = [], 0
    while k < hidden:
        if (k + 1 < hidden and (up[k] == up[k + 1]).all() and bias[k] > bias[k + 1]
                and all(down[i, k + 1] == -down[i, k] and down_ideal[i, k + 1] == -down_ideal[i, k]
                        for i in range(down.shape[0]))):
            units.append((k, k + 1))
            k += 2
        else:
            units.append((k,))
            k += 1
    return units


@dataclass(frozen=True)
class ChannelStep:
    """One complex channel's step from an exact-root state: its exact-root gate (u, w) and, for the float32
    state within the deviation budget of that state, |h_hat' - h'| <= growth |h_hat - h| + increment."""

    gate: tuple[Cyclotomic | Fraction, Cyclotomic | Fraction]
    growth: Fraction
    increment: Fraction


@dataclass(frozen=True)
class StepBound:
    """Per layer, the growth A and increment K of the state error recurrence over the steps seen (the
    largest over its channels), and each channel's own step."""

    growth: tuple[Fraction, ...]
    increment: tuple[Fraction, ...]
    channels: tuple[tuple[ChannelStep, ...], ...] = ()


class DriftAnalysis:
    """The exact-root model of a float32 rotation model, with forward error bounds of every step."""

    def __init__(self, model: RecurrentModel, roots: tuple[GateRoot, ...], orders: list[int],
                 paired_rows: bool = False):
        if model.config.arch != "rotation" or not model.config.exact:
            raise BoundedCertificateError("a bounded certificate covers compiled (exact-path) rotation models only")
        self.model = model
        self.paired_rows = paired_rows  # PAIRED_ROWS is assumed: ``_exact_pair`` may prove a pair exact
        self.n = field_order(orders)
        self.stored = {name: to_rational(t) for name, t in model.state_dict().items()}
        self.errors = check_gates(self.stored, roots, self.n)
        self.largest_modulus = check_unit_disk(self.stored, roots)
        self.ideal = {name: w.copy() for name, w in self.stored.items()}
        for root in roots:
            w = self.ideal[root.parameter]
            if root.column < 0:
                w[root.row] = root.exact(self.n)
            else:
                w[root.row, root.column] = root.exact(self.n)
        self.blocks = [self._block(i, block) for i, block in enumerate(model.blocks)]
        self.readout = _Linear.build(self.stored, self.ideal, self.errors, "readout.weight", "readout.bias")
        self._layer_steps: dict[tuple, tuple] = {}

    def _block(self, i: int, block) -> _Block:
        p = f"blocks.{i}."
        s, d, e = self.stored, self.ideal, self.errors
        to_b_zero = not s[p + "recurrence.to_b.weight"].any() and not s[p + "recurrence.to_b.bias"].any()
        mlp = block.mlp is not None
        return _Block(_Linear.build(s, d, e, p + "recurrence.to_a.weight", p + "recurrence.to_a.bias"),
                      _Linear.build(s, d, e, p + "recurrence.to_b.weight", p + "recurrence.to_b.bias"),
                      _Linear.build(s, d, e, p + "recurrence.out.weight", p + "recurrence.out.bias"),
                      _Linear.build(s, d, e, p + "mlp.up.weight", p + "mlp.up.bias") if mlp else None,
                      _Linear.build(s, d, e, p + "mlp.down.weight", p + "mlp.down.bias") if mlp else None,
                      _units(s, d, p + "mlp.", block.mlp.up.out_features) if mlp else [],
                      block.recurrence.channels, to_b_zero)

    def _lift(self, v) -> Cyclotomic:
        return v if isinstance(v, Cyclotomic) else Cyclotomic.rational(self.n, v)

    def initial(self) -> tuple[tuple[Cyclotomic, ...], ...]:
        return tuple(tuple(self._lift(v) for v in self.stored[f"blocks.{i}.recurrence.h0"].tolist())
                     for i in range(len(self.blocks)))

    def step(self, config, symbol: int, budgets: tuple[Fraction, ...]):
        """The exact-root model's next configuration and logits, each logit's error bound, and the
        layers' (A, K) at this step, assuming every layer's state error is within its budget."""
        x = tuple(self.stored["embedding.weight"][symbol])
        magnitude, deviation = tuple(abs(v) for v in x), (Fraction(0),) * len(x)
        states, growth, increment, channels = [], [], [], []
        for i, (state, budget) in enumerate(zip(config, budgets)):
            key = (i, state, x, magnitude, deviation, budget)
            layer = self._layer_steps.get(key)  # one hash of the key (its Fractions hash slowly)
            if layer is None:
                layer = self._layer_steps[key] = self._layer(self.blocks[i], state, x, magnitude, deviation, budget)
            new, steps, x, magnitude, deviation = layer
            states.append(new)
            growth.append(max((c.growth for c in steps), default=Fraction(0)))
            increment.append(max((c.increment for c in steps), default=Fraction(0)))
            channels.append(steps)
        logits, pert, rnd = self.readout.apply(list(x), magnitude, deviation)
        return (tuple(states), logits, [p + r for p, r in zip(pert, rnd)],
                StepBound(tuple(growth), tuple(increment), tuple(channels)))

    def _layer(self, block: _Block, state, x, magnitude, deviation, budget: Fraction | tuple[Fraction, ...]):
        """One layer: its new state, each channel's step, and the stream after it; a function of its
        arguments only, so ``step`` evaluates it once per distinct input (lower layers repeat across
        configurations). ``budget`` bounds every channel's state error at every step (``explore``'s induction),
        or is one bound per channel on the state's deviation from ``state`` before the step (``proofs.disk``)."""
        x, magnitude, deviation = list(x), list(magnitude), list(deviation)
        new, steps = self._recurrence(block, state, x, magnitude, deviation)
        h_mag = [up(_upper(v)) for v in new]
        if isinstance(budget, tuple):  # deviations from a centre: the new state is within A e + K of its image
            per_channel = [up(c.growth * e + c.increment) for c, e in zip(steps, budget)]
        else:
            per_channel = [budget] * block.channels
        y, pert, rnd = block.out.apply(list(new), h_mag, per_channel + per_channel)
        x, magnitude, deviation = _add_to_stream(x, magnitude, deviation, y, pert, rnd, block.out)
        if block.up is not None:
            x, magnitude, deviation = self._mlp(block, x, magnitude, deviation)
        return new, steps, tuple(x), tuple(magnitude), tuple(deviation)

    def _recurrence(self, block: _Block, state, x, magnitude, deviation):
        """New state of every channel, and each channel's gate and e' <= A e + K."""
        c = block.channels
        a, a_pert, a_rnd = block.to_a.apply(x, magnitude, deviation)
        b, b_pert, b_rnd = block.to_b.apply(x, magnitude, deviation)
        theta_m = SQRT2_UP * gamma(2, FLOAT32_UNIT)
        theta_b = Fraction(0) if block.b_zero else FLOAT32_UNIT
        new_re, new_im, steps = [], [], []
        for j in range(c):
            u, w, hr, hi = a[j], a[c + j], state[j], state[c + j]
            new_re.append(self._lift(u * hr - w * hi + b[j]))
            new_im.append(self._lift(w * hr + u * hi + b[c + j]))
            eps_a = a_pert[j] + a_rnd[j] + a_pert[c + j] + a_rnd[c + j]
            # the float product by +-1 or +-i is exact
            unit = eps_a == 0 and any(u == p and w == q for p, q in _QUARTER_TURNS)
            eps_b = b_pert[j] + b_rnd[j] + b_pert[c + j] + b_rnd[c + j]
            a_abs, h_abs, b_abs = _modulus_up(u, w), _modulus_up(hr, hi), _modulus_up(b[j], b[c + j])
            theta_j = (1 + (0 if unit else theta_m)) * (1 + theta_b) - 1
            steps.append(ChannelStep((u, w), up((a_abs + eps_a) * (1 + theta_j)),
                                     up(eps_a * h_abs + (a_abs + eps_a) * h_abs * theta_j + eps_b * (1 + theta_b)
                                         + b_abs * theta_b)))
        return tuple(new_re + new_im), tuple(steps)

    def _mlp(self, block: _Block, x, magnitude, deviation):
        """The stream after the MLP; every bound here is a grid point, kept as its integer over GRID. The ideal
        hidden values and ``_mlp_ideal`` are functions of the ideal stream x, cached by it (a shorter key)."""
        stream = tuple(x)
        ideal = block.stream_cache.get(stream)
        if ideal is None:
            hidden = block.up.ideal(stream)
            ideal = block.stream_cache[stream] = (hidden, self._mlp_ideal(block, hidden))
        hidden, (values, value_mag, pair_mag, widths) = ideal
        _, pert, rnd = block.up.apply_grid(x, magnitude, deviation, hidden)
        shifted = [p + r for p, r in zip(pert, rnd)]
        float_off = [_sign_shifted_grid(h, m) <= 0 for h, m in zip(hidden, shifted)]  # the float ReLU is exactly 0
        unit_dev, unit_mag, size = {}, [0] * len(hidden), [0] * len(hidden)
        exact_pairs: set[int] = set()
        for unit in block.pairs:
            k = unit[0]
            if len(unit) == 1:
                unit_dev[unit] = 0 if float_off[k] else shifted[k]
                unit_mag[k] = value_mag[k]
                size[k] = unit_mag[k] + unit_dev[unit]
            else:
                s, width = hidden[k], widths[k]
                if self.paired_rows and self._exact_pair(block, k, s, shifted[k]):
                    exact_pairs.add(k)
                    unit_dev[unit] = 0
                elif float_off[k]:  # both float rows <= 0: the float pair is exactly 0
                    unit_dev[unit] = 0
                else:
                    saturated = ((_sign_shifted_grid(s, -pert[k], -width) if width is not None
                                  else _sign(s - _from_grid(pert[k]) - (hidden[k] - hidden[k + 1]))) >= 0
                                 or _sign_shifted_grid(s, pert[k]) <= 0)
                    unit_dev[unit] = (0 if saturated else pert[k]) + rnd[k] + rnd[k + 1]
                unit_mag[k] = pair_mag[k]
                size[k] = value_mag[k] + pert[k] + rnd[k]
                size[k + 1] = value_mag[k + 1] + pert[k] + rnd[k + 1]
        size = [None if off else v for off, v in zip(float_off, size)]  # an exact zero term of the down projection
        y, out_pert, out_rnd = self._down(block, values, unit_dev, unit_mag, size, exact_pairs)
        return _add_to_stream(x, magnitude, deviation, y, out_pert, out_rnd, block.down)

    @staticmethod
    def _mlp_ideal(block: _Block, hidden: tuple):
        """The exact-root post-ReLU values of the hidden units, the upper bounds up(|value|) (per unit, and
        of the pair difference at a pair's first unit) as integers over GRID, and each pair's width as a
        rational (None if it is not one); a function of the ideal pre-activations only, cached on the block."""
        cache = block.ideal_cache
        out = cache.get(hidden)
        if out is None:
            values = [_relu(h) for h in hidden]
            value_mag = [to_grid_ceil(_upper(v)) for v in values]
            pair_mag, widths = {}, {}
            for unit in block.pairs:
                if len(unit) == 2:
                    k = unit[0]
                    a, b = hidden[k], hidden[k + 1]
                    pair_mag[k], widths[k] = _pair_ideal(a, b, isinstance(a, Cyclotomic), isinstance(b, Cyclotomic))
            out = cache[hidden] = (values, value_mag, pair_mag, widths)
        return out

    @staticmethod
    def _exact_pair(block: _Block, k: int, s, slack: int) -> bool:
        """Under PAIRED_ROWS the pair's rows are fl(D_hat + c) and fl(D_hat + c'), one float dot product
        D_hat within ``slack`` / GRID of the ideal D = s - c: both sums are exact (Sterbenz: -c/2 <= D_hat <= -2c
        for c < 0) and the lower one is >= 0, so the float pair is exactly the width c - c'. With [lo, hi]
        the enclosure of s - c, that is lo - slack >= max(-c/2, -c'/2, -c') and hi + slack <= min(-2c, -2c'):
        slack at most the room floor(min(lo - max(...), min(...) - hi) GRID) (cached per pair and s), and the
        width a float32."""
        window = block.pair_windows.get(k, False)
        if window is False:
            (c, c_ideal, c_error), (c2, c2_ideal, c2_error) = block.up.bias[k], block.up.bias[k + 1]
            if c_error or c2_error or c != c_ideal or c2 != c2_ideal or c2 >= c or c >= 0 or not _is_float32(c - c2):
                window = None
            else:
                window = (c, max(-c / 2, -c2 / 2, -c2), min(-2 * c, -2 * c2))
            block.pair_windows[k] = window
        if window is None:
            return False
        key = (k, s, isinstance(s, Cyclotomic))  # a rational's enclosure depends on whether it is a Cyclotomic
        room = block.pair_rooms.get(key)
        if room is None:
            c, low, high = window
            lo, hi = _shifted_enclosure(s, c) if isinstance(s, Cyclotomic) else (s - c, s - c)
            room = block.pair_rooms[key] = min(math.floor((lo - low) * GRID), math.floor((high - hi) * GRID))
        return slack <= room

    def _down(self, block: _Block, values, unit_dev, unit_mag, size, exact_pairs: set[int]):
        """The MLP output, with its error bound per coordinate, grouping each clipped pair's two columns; a
        hidden unit whose float value is exactly 0 (``size`` None) adds an exact zero and no rounding, and a
        row whose only other terms are one exact pair's two columns times +-1 is exact (its value, the
        pair's width, is a float32). The hidden bounds are integers over GRID; the sums are exact integer
        sums over 2^(80 + t) as in ``_Linear.apply``, each rounded up to the grid once (``up``)."""
        tables = block.down._integer_tables()
        if tables is None:
            return self._down_fraction(block, values, {u: _from_grid(v) for u, v in unit_dev.items()},
                                       [_from_grid(v) for v in unit_mag],
                                       [None if v is None else _from_grid(v) for v in size], exact_pairs)
        shift, _, rows = tables
        ideal, perturbation, rounding = [], [], []
        leading = {unit[0]: unit for unit in block.pairs}
        exact_root = block.down.ideal(tuple(values))
        for i, (row, (b, b_ideal, b_error), (b_err, b_size, entries)) in enumerate(zip(block.down.rows,
                                                                                       block.down.bias, rows)):
            pair = self._exact_pair_row(row, (b, b_ideal, b_error), values, size, exact_pairs)
            if pair is not None:
                ideal.append(pair)
                perturbation.append(Fraction(0))
                rounding.append(Fraction(0))
                continue
            pert, total, terms = b_err, b_size, int(b != 0)
            for j, w_abs, err in entries:
                if size[j] is not None:
                    total += w_abs * size[j]
                    terms += 1
                if j in leading:
                    pert += w_abs * unit_dev[leading[j]] + err * unit_mag[j]
            ideal.append(exact_root[i])
            perturbation.append(_from_grid(-((-pert) >> shift)))  # up(gamma(terms, FLOAT32_UNIT) * total):
            rounding.append(_from_grid(-((-terms * total) // ((2 ** 24 - terms) << shift)) if terms and total else 0))
        return ideal, perturbation, rounding

    @staticmethod
    def _exact_pair_row(row, bias, values, size, exact_pairs: set[int]):
        """The row's exact value when it has no bias and its live entries are one exact pair's two columns times
        +-1 (stored = ideal), else None."""
        if not exact_pairs:
            return None
        b, b_ideal, b_error = bias
        live = [(j, w, w_ideal, error) for j, w, w_ideal, error in row if size[j] is not None]
        exact = (b == 0 and b_ideal == 0 and not b_error and len(live) == 2 and live[0][0] in exact_pairs
                 and live[1][0] == live[0][0] + 1 and abs(live[0][1]) == 1 and live[1][1] == -live[0][1]
                 and all(w == w_ideal and not error for _, w, w_ideal, error in live))
        if not exact:
            return None
        j = live[0][0]
        return live[0][1] * values[j] + live[1][1] * values[j + 1]

    def _down_fraction(self, block: _Block, values, unit_dev, unit_mag, size, exact_pairs: set[int]):
        """``_down`` in Fractions, for a down projection without integer tables."""
        ideal, perturbation, rounding = [], [], []
        leading = {unit[0]: unit for unit in block.pairs}
        exact_root = block.down.ideal(tuple(values))
        for i, (row, (b, b_ideal, b_error)) in enumerate(zip(block.down.rows, block.down.bias)):
            pair = self._exact_pair_row(row, (b, b_ideal, b_error), values, size, exact_pairs)
            if pair is not None:
                ideal.append(pair)
                perturbation.append(Fraction(0))
                rounding.append(Fraction(0))
                continue
            pert, total, terms = b_error, abs(b), int(b != 0)
            for j, w, _w_ideal, error in row:
                if size[j] is not None:
                    total += abs(w) * size[j]
                    terms += 1
                if j in leading:
                    pert += abs(w) * unit_dev[leading[j]] + error * unit_mag[j]
            ideal.append(exact_root[i])
            perturbation.append(up(pert))
            rounding.append(up(gamma(terms, FLOAT32_UNIT) * total))
        return ideal, perturbation, rounding


@functools.lru_cache(maxsize=1 << 18)
def _pair_ideal(a, b, a_cyclotomic: bool, b_cyclotomic: bool) -> tuple[int, Fraction | None]:
    """A clipped pair's up(|relu(a) - relu(b)|) over GRID and the rational part of a - b, from its two ideal
    pre-activations (a function of them only: the same pairs recur across hidden vectors); the types are part
    of the key, since a rational's enclosure depends on whether it is a Cyclotomic."""
    return to_grid_ceil(_upper(_relu(a) - _relu(b))), _rational_part(a - b)


@functools.lru_cache(maxsize=1 << 18)
def _shifted_enclosure(s: Cyclotomic, c: Fraction) -> tuple[Fraction, Fraction]:
    return (s - c).enclosure()


def _is_float32(x: Fraction) -> bool:
    return Fraction(float(np.float32(float(x)))) == x


def _decision_holds(logits, errors, label: int) -> bool:
    """The label's logit beats every other by more than both error bounds (exact sign)."""
    return all(_sign(logits[label] - logits[j] - errors[label] - errors[j]) > 0
               for j in range(len(logits)) if j != label)


def _ideal_margin(logits, label: int) -> Fraction:
    """A rational lower bound on the exact-root model's margin; raises if it is not positive."""
    bounds = []
    for j in range(len(logits)):
        if j != label:
            diff = logits[label] - logits[j]
            if _sign(diff) <= 0:
                raise ValueError
            bounds.append(diff.enclosure()[0] if isinstance(diff, Cyclotomic) else diff)
    return min(bounds, default=Fraction(1))


@dataclass(frozen=True)
class Exploration:
    """The exact-root model's reachable pairs and the worst step bounds under the budgets."""

    configurations: int
    margin: Fraction
    growth: tuple[Fraction, ...]
    increment: tuple[Fraction, ...]
    within_budget: bool  # every reachable decision is right while the errors stay within budget
    where: str | None  # the first step where that fails


def explore(analysis: DriftAnalysis, dfa: DFA, labels: np.ndarray, budgets: tuple[Fraction, ...],
            max_configurations: int = 20_000, stop_at_failure: bool = False) -> Exploration:
    """(i) and the per-step part of (iii) over every reachable (configuration, DFA state) pair; with
    ``stop_at_failure`` it returns at the first decision the budgets do not prove (a partial exploration,
    good only for rejecting those budgets)."""
    start = (analysis.initial(), dfa.start)
    seen, queue = {start}, deque([start])
    layers = len(analysis.blocks)
    growth, increment = [Fraction(0)] * layers, [Fraction(0)] * layers
    margin, where = None, None
    while queue:
        config, q = queue.popleft()
        for a in range(dfa.n_symbols):
            nxt, logits, errors, bound = analysis.step(config, a, budgets)
            r = int(dfa.delta[q, a])
            label = int(labels[r])
            place = f"after DFA state {dfa.name(q)!r} reads {dfa.alphabet[a]!r}"
            try:
                m = _ideal_margin(logits, label)
            except ValueError:
                raise BoundedCertificateError(f"{place}, the exact-root model does not pick label {label} of "
                                              f"state {dfa.name(r)!r}", check="i") from None
            margin = m if margin is None else min(margin, m)
            if where is None and not _decision_holds(logits, errors, label):
                where = place
                if stop_at_failure:
                    return Exploration(len(seen), margin, tuple(growth), tuple(increment), False, where)
            growth = [max(x, y) for x, y in zip(growth, bound.growth)]
            increment = [max(x, y) for x, y in zip(increment, bound.increment)]
            pair = (nxt, r)
            if pair not in seen:
                if len(seen) >= max_configurations:
                    raise BoundedCertificateError(f"more than {max_configurations} reachable configurations: "
                                                  "the exact-root model's state does not close up", check="i")
                seen.add(pair)
                queue.append(pair)
    return Exploration(len(seen), margin or Fraction(1), tuple(growth), tuple(increment), where is None, where)


def layer_safe_length(growth: Fraction, increment: Fraction, budget: Fraction) -> int:
    """The largest t with K t / (1 - (A - 1) t) <= B, i.e. t <= B / (K + B (A - 1)) (capped at 2^62)."""
    g = max(growth - 1, Fraction(0))
    if increment == 0:  # e_0 = 0 stays 0
        return MAX_LENGTH
    return min(MAX_LENGTH, math.floor(budget / (increment + budget * g)))


def require_length(length: int, requested: int) -> None:
    """A certificate whose proved length is below ``requested`` (at least 1) proves too little: raise,
    naming the length (a length of 0 proves nothing)."""
    if length < max(requested, 1):
        raise BoundedCertificateError(f"the checked quantities prove the float32 model right only up to length "
                                      f"{length}, below the requested length {max(requested, 1)}: no bounded "
                                      f"certificate")


def safe_length(exploration: Exploration, budgets: tuple[Fraction, ...]) -> tuple[int, ...]:
    return tuple(layer_safe_length(a, k, b) for a, k, b in zip(exploration.growth, exploration.increment, budgets))


@dataclass(frozen=True)
class BoundedCertificate:
    orders: tuple[int, ...]
    roots: tuple[GateRoot, ...]
    gate_error: Fraction
    largest_modulus: Fraction
    budgets: tuple[Fraction, ...]
    exploration: Exploration
    lengths: tuple[int, ...]

    @property
    def length(self) -> int:
        return min(self.lengths)

    def claim(self) -> str:
        return (f"The float32 model's prediction equals the DFA state's label at every position of every string "
                f"of length <= {self.length} (under the stated float assumptions); the model with its gates "
                f"replaced by the exact roots of unity does so at every position of every string, of every "
                f"length. Every stored gate lies in the closed unit disk.")

    def to_json(self, dfa: DFA, labels: np.ndarray, construction: dict[str, Any] | None = None) -> dict[str, Any]:
        e = self.exploration
        return {**header(KIND), "all_lengths": False,
                "claim": self.claim(), "assumptions": list(ASSUMPTIONS), "construction": construction or {},
                "dfa": dfa_to_json(dfa), "labels": [int(x) for x in labels],
                "orders": list(self.orders), "field": f"Q(zeta_{field_order(list(self.orders))})",
                "gates": [r.to_json() for r in self.roots], "gate_error": str(self.gate_error),
                "ideal": {"configurations": e.configurations, "margin_lower_bound": str(e.margin)},
                "budgets": [str(b) for b in self.budgets],
                "recurrence": [{"layer": i, "growth": str(a), "increment": str(k), "safe_length": n}
                               for i, (a, k, n) in enumerate(zip(e.growth, e.increment, self.lengths))],
                "correct_up_to_length": self.length,
                "spectral": {"class": "diag-complex", "stored_gates": len(self.roots),
                             "largest_squared_modulus": str(self.largest_modulus), "within_unit_disk": True}}


def _check(analysis: DriftAnalysis, dfa: DFA, labels: np.ndarray, orders: list[int], roots: tuple[GateRoot, ...],
           gate_error: Fraction | None, budgets: tuple[Fraction, ...], max_configurations: int,
           requested: int = 1) -> BoundedCertificate:
    worst = max(analysis.errors.values(), default=Fraction(0))
    if gate_error is not None and worst > gate_error:
        root = next(r for r in roots if analysis.errors[r.parameter, r.row, r.column] > gate_error)
        raise BoundedCertificateError(f"layer {root.layer}: gate weight {root.describe()} is "
                                      f"{_entry(analysis.stored, root)}, not within {gate_error} of the root "
                                      f"(off by up to {float(analysis.errors[root.parameter, root.row, root.column])!r})",
                                      check="ii")
    exploration = explore(analysis, dfa, labels, budgets, max_configurations, stop_at_failure=True)
    if not exploration.within_budget:
        raise BoundedCertificateError(f"{exploration.where}: with state errors within the budgets "
                                      f"{[str(b) for b in budgets]} the float32 readout is not proved right", check="iii")
    lengths = safe_length(exploration, budgets)
    require_length(min(lengths), requested)
    return BoundedCertificate(tuple(orders), roots, gate_error if gate_error is not None else worst,
                              analysis.largest_modulus, budgets, exploration, lengths)


def certify_bounded(model: RecurrentModel, dfa: DFA, labels: np.ndarray, orders: list[int],
                    max_configurations: int = 20_000, requested: int = 1) -> BoundedCertificate:
    """Find the gates and the budgets, and certify that the float32 model is right up to a length of at
    least ``requested`` (the largest budget gives the longest length, so a shorter one ends the search
    with an error naming it). Layers whose error provably stays 0 (increment 0)
    get budget 0; the others share the largest budget 2^-k, k = 1..40, that keeps the readout right
    (feasibility is monotone in the budget, and an infeasible budget is rejected at its first unproved
    decision, so the scan from k = 1 up costs about one exploration). One ``DriftAnalysis`` serves every
    exploration: a layer's step under the same inputs and budget is evaluated once."""
    roots = find_gate_roots(model, orders)
    analysis = DriftAnalysis(model, roots, orders)
    exact = [True] * len(model.blocks)
    while True:
        probe = tuple(Fraction(0) if e else Fraction(1, 2 ** 20) for e in exact)
        found = explore(analysis, dfa, labels, probe, max_configurations)
        still = [e and k == 0 for e, k in zip(exact, found.increment)]
        if still == exact:
            break
        exact = still
    for k in range(1, 41):
        budgets = tuple(Fraction(0) if e else Fraction(1, 2 ** k) for e in exact)
        try:
            return _check(analysis, dfa, labels, orders, roots, None, budgets, max_configurations, requested)
        except BoundedCertificateError as err:
            if err.check != "iii":
                raise
    raise BoundedCertificateError("no state error budget down to 2^-40 keeps the float32 readout right", check="iii")


def verify_bounded(model: RecurrentModel, document: dict[str, Any]) -> dict[str, Any]:
    """Re-check a bounded certificate from the stored weights: (i), (ii) and (iii) with the document's
    gate list and budgets; L is recomputed, and a document claiming more fails."""
    try:
        dfa = dfa_from_json(document["dfa"], "certificate")
        labels = np.asarray(document["labels"], dtype=np.int64)
        orders = [int(m) for m in document["orders"]]
        roots = tuple(GateRoot.from_json(item) for item in document["gates"])
        gate_error = Fraction(document["gate_error"])
        budgets = tuple(Fraction(b) for b in document["budgets"])
        claimed = int(document["correct_up_to_length"])
        check_budgets(orders, budgets)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
        raise BoundedCertificateError(f"malformed bounded certificate: {err}") from None
    if len(budgets) != len(model.blocks):
        raise BoundedCertificateError(f"{len(budgets)} budgets for a model of {len(model.blocks)} layers", check="iii")
    cert = _check(DriftAnalysis(model, roots, orders), dfa, labels, orders, roots, gate_error, budgets, 20_000)
    if cert.length < claimed:
        raise BoundedCertificateError(f"the certificate claims correctness up to length {claimed}, the checked "
                                      f"quantities give {cert.length}", check="iii")
    return {"kind": KIND, "correct_up_to_length": cert.length, "configurations": cert.exploration.configurations,
            "symbols": dfa.n_symbols, "margin": str(cert.exploration.margin),
            "margin_float": float(cert.exploration.margin), "gate_error": float(cert.gate_error),
            "gates": len(roots), "largest_squared_modulus": str(cert.largest_modulus)}


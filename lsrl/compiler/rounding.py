"""Float rounding of a compiled model: per output, a proved bound on |float model - exact interpreter| in a dtype
over every input in the declared ranges and lengths; 0 (exact) when no operation rounds. Proof: docs/compiler.md#exactness
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import numpy as np

from lsrl.compiler.backends.deltaproduct import DeltaProductBackend, Head
from lsrl.compiler.backends.dense import initial_state, input_rows, transition_rows
from lsrl.compiler.backends.elman import ElmanBackend
from lsrl.compiler.backends.hawk import HawkBackend
from lsrl.compiler.backends.lstm import ThresholdBackend
from lsrl.compiler.backends.lti import lti_input_rows
from lsrl.compiler.backends.mamba import MambaBackend, eigenbasis, inverse
from lsrl.compiler.backends.rotation import RotationBackend
from lsrl.compiler.fuse import Atom, Row
from lsrl.compiler.lower import Plan
from lsrl.compiler.ranges import INF, Bound, Interval
from lsrl.lang.graph import AutomatonState, DeltaState, DiagonalState, Input, LtiState, Multiply, Node
from proofs import float_error
from proofs.cyclotomic import Algebraic

SIGNIFICAND_BITS = {"float32": 24, "float64": 53}
EXPONENTS = {"float32": (-126, 127), "float64": (-1022, 1023)}  # least normal and greatest exponent
SATURATED = (ThresholdBackend, HawkBackend)  # gates exact only on exact pre-activations: no bound but 0
SQRT2_UP = Fraction(99, 70)
MAX_ENUMERATED = 8  # Boolean atoms a complex gate may read for its modulus to be enumerated exactly
WEIGHT_BITS = 96  # the enclosure of an irrational weight, well inside float64's rounding error
ERROR_BITS = 64  # error bounds are rounded up to this many significant bits (keeps fractions small)


@dataclass(frozen=True)
class Format:
    """A binary float format: significand bits, least normal and greatest exponent."""

    name: str

    @property
    def bits(self) -> int:
        return SIGNIFICAND_BITS[self.name]

    @property
    def unit(self) -> Fraction:
        """The unit roundoff of rounding to nearest."""
        return Fraction(1, 2 ** self.bits)

    @property
    def subnormal(self) -> Fraction:
        """The smallest positive float."""
        return Fraction(2) ** (EXPONENTS[self.name][0] - self.bits + 1)

    @property
    def largest(self) -> Fraction:
        return (2 - 2 * self.unit) * Fraction(2) ** EXPONENTS[self.name][1]

    def stored(self, value: Fraction) -> Bound:
        """The float a model built in float64 and cast to this format holds for ``value`` (inf: overflow)."""
        try:
            wide = float(value)  # an Algebraic rounds its enclosure's midpoint
        except OverflowError:
            return INF
        with np.errstate(over="ignore"):
            narrow = float(np.float32(wide)) if self.name == "float32" else wide
        return INF if math.isinf(narrow) else Fraction(narrow)

    def gamma(self, n: int) -> Fraction:
        """gamma_n of this format (proofs.float_error.gamma, the one definition)."""
        return float_error.gamma(n, self.unit)


@dataclass(frozen=True)
class Cause:
    """Where rounding first enters a value: the construct, and why it cannot be exact."""

    node: Node
    what: str
    reason: str


@dataclass(frozen=True)
class Value:
    """A float value of the model: the exact values' range, a bound on the float's error, its cause."""

    interval: Interval
    error: Bound = Fraction(0)
    cause: Cause | None = None

    @property
    def magnitude(self) -> Bound:
        return self.interval.magnitude


ONE = Value(Interval.point(Fraction(1)))


@dataclass(frozen=True)
class OutputError:
    """The proved bound on one output's error in a dtype (0: exact) and, if not 0, its first cause."""

    name: str
    bound: Bound
    cause: Cause | None


def show(v: Fraction | Algebraic) -> str:
    """A rational for a message: as written when short, else in scientific notation (irrationals as decimals)."""
    text = str(v)
    if isinstance(v, Algebraic):
        return f"{float(v):.17g}"
    if len(text) <= 24:
        return text
    exponent = math.floor(math.log10(abs(v.numerator)) - math.log10(v.denominator))
    return f"{'-' if v < 0 else ''}{float(abs(v) / Fraction(10) ** exponent):.6g}e{exponent}"


def _up(x: Bound) -> Bound:
    """``x`` rounded up to ERROR_BITS significant bits."""
    if x == 0 or x == INF:
        return x
    k = ERROR_BITS - (x.numerator.bit_length() - x.denominator.bit_length())
    return Fraction(math.ceil(x * Fraction(2) ** k)) / Fraction(2) ** k


def _distance(stored: Fraction, w: Fraction | Algebraic) -> Fraction:
    """An upper bound on |stored - w|, through an enclosure of w when it is irrational."""
    if not isinstance(w, Algebraic):
        return abs(stored - w)
    lo, hi = w.bounds(WEIGHT_BITS)
    return _up(max(abs(stored - lo), abs(stored - hi)))


def _sqrt_up(x: Bound) -> Bound:
    """An upper bound on sqrt(x) (x >= 0), with 64 fractional bits."""
    if x == INF:
        return INF
    grid = 2 ** 64
    return Fraction(math.isqrt(math.ceil(x * grid * grid)) + 1, grid)


def _times(a: Bound, b: Bound) -> Bound:
    return Fraction(0) if a == 0 or b == 0 else a * b


def _two_adic(v: Fraction) -> Fraction | None:
    """The largest power of two dividing ``v`` (v != 0), or None if v is not dyadic."""
    n, d = abs(v.numerator), v.denominator
    if d & (d - 1):
        return None
    return Fraction((n & -n), d)


def why_inexact(products: Sequence[Interval], fmt: Format) -> str | None:
    """None when every product and every partial sum of ``sum(products)`` is a ``fmt`` float, else why not."""
    total = sum((p.magnitude for p in products), Fraction(0))
    if total == INF:
        return "its range is not bounded (declare --input-range for real inputs and --max-length)"
    if total > fmt.largest:
        return f"its values reach {float(total):.3g}, beyond the largest {fmt.name}"
    grid: list[Fraction] = []
    for p in products:
        if p.magnitude == 0:
            continue
        if p.lattice is None:
            return f"it is not proven to lie on a dyadic grid (range {p})"
        for s in (p.lattice.step, p.lattice.offset):
            q = _two_adic(s) if s else None
            if s and q is None:
                return f"it takes values on the grid {p.lattice.offset} + {p.lattice.step}Z, which is not dyadic"
            grid.extend([q] if q else [])
    q = min(grid, default=Fraction(1))
    if q < fmt.subnormal:
        return f"it needs a grid of {q}, finer than the smallest {fmt.name}"
    if total > 2 ** fmt.bits * q:
        return (f"its values reach {float(total):.3g} on a grid of {q}: more than the {fmt.bits} significand "
                f"bits of {fmt.name}")
    return None


def sum_of_products(terms: Sequence[tuple[Value, Value]], fmt: Format, node: Node, what: str
                    ) -> tuple[Bound, Cause | None]:
    """Bound on the error of ``fl(sum x y)`` over the terms' float operands, and its first cause."""
    upstream = next((v.cause for pair in terms for v in pair if v.error), None)
    if any(v.error == INF for pair in terms for v in pair):
        return INF, upstream
    if upstream is None:
        reason = why_inexact([x.interval.times(y.interval) for x, y in terms], fmt)
        if reason is None:
            return Fraction(0), None
        upstream = Cause(node, what, reason)
    spread = sum((_times(x.magnitude + x.error, y.magnitude + y.error) for x, y in terms), Fraction(0))
    if spread == INF or spread > fmt.largest:
        return INF, upstream
    propagated = sum((_times(x.magnitude + x.error, y.error) + _times(y.magnitude, x.error) for x, y in terms),
                     Fraction(0))
    n = len(terms)
    return _up(propagated + fmt.gamma(n) * spread + 2 * n * fmt.subnormal / 2), upstream


class _Analysis:
    """The error bound of every atom of a plan, in schedule order."""

    def __init__(self, plan: Plan, fmt: Format, max_length: int | None):
        self.plan, self.fmt, self.max_length = plan, fmt, max_length
        self.ranges = plan.ctx.ranges
        self.atoms: dict[Atom, Value] = {}
        self.overflow: Cause | None = None  # the first weight stored as inf: inf * 0 = nan reaches every output

    def describe(self, node: Node) -> str:
        return f"the input {node.name!r}" if isinstance(node, Input) else self.plan.ctx.describe(node)

    def weight(self, w: Fraction | Algebraic, node: Node, what: str | None = None) -> Value:
        """A weight as the model stores it; an irrational one (``Algebraic``) is rounded, its error bounded
        through a rational enclosure."""
        stored = self.fmt.stored(w)
        if stored == w:
            return Value(Interval.point(w))
        kind = "an irrational constant" if isinstance(w, Algebraic) else f"not a {self.fmt.name} number"
        cause = Cause(node, what or self.describe(node), f"its weight {show(w)} is {kind}" +
                      (" (it overflows)" if stored == INF else f" (it is stored as {float(stored)!r})"))
        if stored == INF:
            self.overflow = self.overflow or cause
            return Value(Interval.point(w), INF, cause)
        return Value(Interval.point(w), _distance(stored, w), cause)

    def row(self, row: Row, node: Node, what: str | None = None) -> Value:
        """A linear map of the stream (a ``nn.Linear`` row) computing a part of ``node``."""
        what = what or self.describe(node)
        terms = [(self.weight(c, node, what), self.atoms[a]) for a, c in row.terms.items()]
        if row.const:
            terms.append((self.weight(row.const, node, what), ONE))
        return Value(self.ranges.row(row), *sum_of_products(terms, self.fmt, node, what))

    def run(self) -> None:
        for node in self.plan.ctx.program.inputs:
            for i in range(node.dim):
                self.atoms[node, i] = self.input(node, self.ranges.atoms[node, i])
        for block in self.plan.blocks:
            for node in block.recurrence:
                for i, value in enumerate(self.recurrent(node)):
                    self.atoms[node, i] = value
            for node in block.mlp:
                self.mlp(node, [h for n, h in block.hidden if n is node])

    def input(self, node: Input, interval: Interval) -> Value:
        """An input converted to float64 and then to the dtype (symbols are one-hot: exact)."""
        reason = None if node.alphabet is not None else why_inexact([interval], self.fmt)
        if reason is None:
            return Value(interval)
        advice = f"declare --input-range {node.name}=LO:HI:STEP with a power-of-two STEP for exact inputs"
        if not interval.bounded:
            return Value(interval, INF, Cause(node, self.describe(node), f"its range is not bounded: {advice}"))
        cause = Cause(node, self.describe(node), f"{reason}; {advice}")
        wide = Fraction(1, 2 ** 53)
        error = (wide + self.fmt.unit * (1 + wide)) * interval.magnitude + 2 * self.fmt.subnormal
        return Value(interval, _up(error), cause)

    def mlp(self, node: Node, hidden: list) -> None:
        """Each component: ``sum coef * relu(row)`` over its units (the MLP's down projection)."""
        for i in range(node.dim):
            terms = []
            for unit in (h for h in hidden if h.component == i):
                pre = self.row(unit.row, node)
                terms.append((self.weight(unit.coef, node), Value(pre.interval.relu(), pre.error, pre.cause)))
            self.atoms[node, i] = Value(self.ranges.atoms[node, i],
                                        *sum_of_products(terms, self.fmt, node, self.describe(node)))

    def recurrent(self, node: Node) -> list[Value]:
        """The values of a recurrent atom over all steps."""
        backend = self.plan.backend
        if isinstance(backend, DeltaProductBackend):
            return self.heads(node)
        if isinstance(backend, RotationBackend):
            return self.rotation(node)
        if isinstance(backend, ElmanBackend):
            return self.relu_units(node)
        if isinstance(node, AutomatonState):
            rows = [self.row(r, node) for r in self.plan.ctx.forms[node.x]]
            bad = next((r for r in rows if r.error), None)
            return [Value(self.ranges.atoms[node, i], *((INF, bad.cause) if bad else (Fraction(0), None)))
                    for i in range(node.dim)]
        if isinstance(node, DeltaState):
            return self.dense_delta(node)
        if isinstance(node, Multiply):
            forms = self.plan.ctx.forms
            return [Value(self.ranges.atoms[node, i], *sum_of_products(
                [(self.row(forms[node.x][i], node), self.row(forms[node.y][i], node))], self.fmt, node,
                self.describe(node))) for i in range(node.dim)]
        values = self.state(node)
        if isinstance(backend, SATURATED) and any(v.error for v in values):
            cause = Cause(node, self.describe(node), f"{backend.name}'s saturated gates compute it exactly only from exact "
                                                     "values, and no error bound is derived for them")
            return [Value(v.interval, INF, v.cause or cause) for v in values]
        return values

    def heads(self, node: Node) -> list[Value]:
        """A DeltaProduct atom (``backends.deltaproduct``): exact when every row its heads read is exact and, over
        intervals holding each head's state, every product and sum of every factor's update and of ``S^T q`` is
        a float; otherwise no bound is derived."""
        columns: dict[int, list[tuple[Value, Value]]] = {i: [] for i in range(node.dim)}
        for head in self.plan.backend.heads(node, self.plan.ctx):
            read = [self.row(r, node) for f in head.factors for r in (*f.key, *f.value, f.rate)]
            query = [self.row(r, node) for r in head.query]
            bad = next((v for v in (*read, *query) if v.error), None)
            cause = bad.cause if bad else self.householder(node, head)
            for c, targets in enumerate(head.outputs):
                products = [s[c].times(q.interval) for s, q in zip(head.state, query)]
                reason = None if cause else why_inexact(products, self.fmt)
                cause = cause or (Cause(node, self.describe(node), f"its readout S^T q {reason}") if reason else None)
                out = Value(reduce(Interval.plus, products), INF if cause else Fraction(0), cause)
                for i, coef in targets:
                    columns[i].append((self.weight(coef, node), out))
        return [Value(self.ranges.atoms[node, i], *sum_of_products(columns[i], self.fmt, node, self.describe(node)))
                for i in range(node.dim)]

    def dense_delta(self, node: DeltaState) -> list[Value]:
        """A delta state run by ``backends.dense`` as ``h = A(x) h + b(x)``, A and b affine in its Boolean signal."""
        atoms = [self.ranges.atoms[node, i] for i in range(node.dim)]
        rows = transition_rows(node, self.plan.ctx)
        coefs = [[(q, self.row(rows[i, q], node)) for q in range(node.dim) if (i, q) in rows] for i in range(node.dim)]
        bound, cause = self.channels(node, atoms, coefs, input_rows(node, self.plan.ctx), initial_state(node))
        return [Value(atom, bound, cause) for atom in atoms]

    def relu_units(self, node: Node) -> list[Value]:
        """ReLU Elman units (``backends.elman``) ``h_j = relu(row_j + sum coef h_q)``: channels whose update is
        followed by a ReLU (exact on exact values, 1-Lipschitz), read as signed sums of units."""
        found = self.plan.backend.units(node, self.plan.ctx)
        coefs = [[(q, self.weight(c, node)) for q, c in unit.reads.items()] for unit in found.units]
        bound, cause = self.channels(node, [u.interval for u in found.units], coefs, [u.row for u in found.units],
                                     [u.init for u in found.units])
        return [Value(self.ranges.atoms[node, i], *sum_of_products(
            [(self.weight(c, node), Value(found.units[j].interval, bound, cause)) for j, c in terms.items()],
            self.fmt, node, self.describe(node))) for i, terms in enumerate(found.outputs)]

    def rotation(self, node: Node) -> list[Value]:
        """Complex channels (``backends.rotation``) as pairs of real ones, ``Re h' = u Re h - w Im h + re`` and
        ``Im h' = w Re h + u Im h + im``, read by the output map."""
        channels = self.plan.backend.channels(node, self.plan.ctx)
        coefs, drives, init = [], [], []
        for j, channel in enumerate(channels):
            u, w = (self.row(r, node) for r in channel.gate)
            minus_w = Value(w.interval.scaled(Fraction(-1)), w.error, w.cause)
            coefs += [[(2 * j, u), (2 * j + 1, minus_w)], [(2 * j + 1, u), (2 * j, w)]]
            drives += list(channel.drive)
            init += list(channel.init)
        bound, cause = self.channels(node, [b for c in channels for b in c.box], coefs, drives, init)
        if bound:
            bound = min(bound, self.complex_channels(node, channels)[0])
        terms: dict[int, list[tuple[Value, Value]]] = {i: [] for i in range(node.dim)}
        for channel in channels:
            re, im = (Value(b, bound, cause) for b in channel.box)
            for i, c_re, c_im in channel.outputs:
                terms[i] += [(self.weight(c_re, node), re), (self.weight(c_im, node), im)]
        return [Value(self.ranges.atoms[node, i], *sum_of_products(terms[i], self.fmt, node, self.describe(node)))
                for i in range(node.dim)]

    def complex_channels(self, node: Node, channels: list) -> tuple[Bound, Cause | None]:
        """The largest error modulus |h^ - h| of complex channels ``h' = fl(fl(a^ h^) + b^)`` over the length: with
        G >= |a^| (exact gate values enumerated when the gate reads only Boolean atoms), H >= |h| and the complex
        product's relative error sqrt(2) gamma_2 (Higham 2002, Lemma 3.5), each step gives
        ``E' <= G (1 + r) E + G H r + |a^ - a| H + e_b + u (|b| + e_b)``, r = sqrt(2) gamma_2 + u (1 + sqrt(2) gamma_2):
        a rotation's error grows linearly in the length, where the real pairs' row sums grow geometrically."""
        u, r2 = self.fmt.unit, SQRT2_UP * self.fmt.gamma(2)
        r = r2 + u * (1 + r2)
        growth, increment, cause = Fraction(0), Fraction(0), None
        for channel in channels:
            gate = [self.row(row, node) for row in channel.gate]
            drive = [self.row(row, node) for row in channel.drive]
            gate_error = gate[0].error + gate[1].error
            if INF in (gate_error, drive[0].error, drive[1].error):
                return INF, next(v.cause for v in (*gate, *drive) if v.error == INF)
            g = _sqrt_up(self.gate_modulus_squared(channel.gate)) + gate_error
            h = _sqrt_up(sum((b.magnitude ** 2 for b in channel.box), Fraction(0)))
            b_error = drive[0].error + drive[1].error
            b = _sqrt_up(sum((d.magnitude ** 2 for d in drive), Fraction(0)))
            growth = max(growth, g * (1 + r))
            increment = max(increment, g * h * r + gate_error * h + b_error + u * (b + b_error) + 4 * self.fmt.subnormal)
            cause = cause or next((v.cause for v in (*gate, *drive) if v.cause), None)
        errors = [_distance(self.fmt.stored(v), v) for c in channels for v in c.init]
        return self.iterate(lambda e, _: [(_up(growth * max(e) + increment), cause)], [max(errors, default=0)], [cause])

    def gate_modulus_squared(self, gate: tuple[Row, Row]) -> Fraction:
        """An upper bound on u^2 + w^2 over the steps: exact at every assignment when the rows read at most
        MAX_ENUMERATED atoms, all Boolean; else from the rows' magnitudes."""
        atoms = sorted({a for row in gate for a in row.terms}, key=lambda a: (a[0].id, a[1]))
        if len(atoms) <= MAX_ENUMERATED and all(self.ranges.atoms[a].is_boolean() for a in atoms):
            worst = Fraction(0)
            for bits in itertools.product((0, 1), repeat=len(atoms)):
                at = dict(zip(atoms, bits))
                u, w = (row.const + sum((c * at[a] for a, c in row.terms.items()), Fraction(0)) for row in gate)
                square = u * u + w * w
                worst = max(worst, square.bounds()[1] if isinstance(square, Algebraic) else square)
            return worst
        return sum((self.ranges.row(row).magnitude ** 2 for row in gate), Fraction(0))

    def householder(self, node: Node, head: Head) -> Cause | None:
        """Where a head's factors ``S + beta k (v - S^T k)^T`` first round, from intervals holding its state;
        None when every product and partial sum is a float."""
        box = [list(row) for row in head.state]
        for j, factor in enumerate(head.factors):
            key = [self.ranges.row(r) for r in factor.key]
            rate = self.ranges.row(factor.rate)
            new = [list(row) for row in box]
            for c, value in enumerate(factor.value):
                products = [box[r][c].times(key[r]) for r in range(len(key))]
                predicted = reduce(Interval.plus, products)
                residual = self.ranges.row(value).plus(predicted.scaled(Fraction(-1)))
                scaled = residual.times(rate)
                checks = [products, [self.ranges.row(value), predicted.scaled(Fraction(-1))], [scaled]]
                for r in range(len(key)):
                    update = scaled.times(key[r])
                    checks += [[update], [box[r][c], update]]
                    new[r][c] = box[r][c].plus(update)
                reason = next((why for why in (why_inexact(terms, self.fmt) for terms in checks) if why), None)
                if reason:
                    return Cause(node, self.describe(node), f"its Householder factor {j} {reason}")
            box = new
        return None

    def state(self, node: LtiState | DiagonalState) -> list[Value]:
        """``s_t = A s_{t-1} + B x_t`` or ``a_t * s_{t-1} + b_t``, in the basis the backend runs it in."""
        atoms = [self.ranges.atoms[node, i] for i in range(node.dim)]
        if isinstance(node, DiagonalState):
            gates = [self.row(r, node) for r in self.plan.ctx.forms[node.a]]
            coefs = [[(i, Value(self.ranges.node(node.a)[i], gates[i].error, gates[i].cause))] for i in range(node.dim)]
            bound, cause = self.channels(node, atoms, coefs, self.plan.ctx.forms[node.b], node.init)
            return [Value(atom, bound, cause) for atom in atoms]
        if not (isinstance(self.plan.backend, MambaBackend) and any(
                node.a[i][j] for i in range(node.dim) for j in range(node.dim) if i != j)):
            coefs = [[(k, self.weight(a, node)) for k, a in enumerate(row) if a] for row in node.a]
            bound, cause = self.channels(node, atoms, coefs, lti_input_rows(node, self.plan.ctx), node.init, node.a)
            return [Value(atom, bound, cause) for atom in atoms]
        p, d = eigenbasis(node.a)  # mamba runs h = P^-1 s with gates d and reads s = P h
        inv = inverse(p)
        n = range(node.dim)
        b = [[sum(inv[j][k] * node.b[k][m] for k in n) for m in range(len(node.b[0]))] for j in n]
        init = [sum(inv[j][k] * node.init[k] for k in n) for j in n]
        basis = [reduce(Interval.plus, (atoms[k].scaled(inv[j][k]) for k in n if inv[j][k]), Interval.point(Fraction(0)))
                 for j in n]
        coefs = [[(j, self.weight(d[j], node))] for j in n]
        bound, cause = self.channels(node, basis, coefs, lti_input_rows(node, self.plan.ctx, b), init)
        channel = [Value(basis[j], bound, cause) for j in n]
        return [Value(atoms[i], *sum_of_products([(self.weight(p[i][j], node), channel[j]) for j in n if p[i][j]],
                                                 self.fmt, node, self.describe(node))) for i in n]

    def channels(self, node: Node, intervals: list[Interval], coefs: list[list[tuple[int, Value]]],
                 drive_rows: Sequence[Row], init: Sequence[Fraction], matrix: Sequence[Sequence[Fraction]] | None = None
                 ) -> tuple[Bound, Cause | None]:
        """The largest error of channels ``h_i = sum_k coef_ik h_k + drive_i`` over the length, from ``init``; for a
        constant ``matrix`` (coef_ik), the smaller of that bound and ``two_norm``'s."""
        start = [self.weight(v, node) for v in init]
        intervals = [x.join(Interval.point(v)) for x, v in zip(intervals, init)]
        drive = [self.row(r, node) for r in drive_rows]

        def step(errors: list[Bound], causes: list[Cause | None]) -> list[tuple[Bound, Cause | None]]:
            return [sum_of_products([(c, Value(intervals[k], errors[k], causes[k])) for k, c in coefs[i]]
                                    + [(ONE, drive[i])], self.fmt, node, self.describe(node))
                    for i in range(len(coefs))]

        bound, cause = self.iterate(step, [v.error for v in start], [v.cause for v in start])
        if bound and matrix is not None:  # a rotation: its 2-norm does not grow, where row sums grow geometrically
            fresh = [e for e, _ in step([Fraction(0)] * len(coefs), [None] * len(coefs))]
            bound = min(bound, self.two_norm(matrix, fresh, [v.error for v in start]))
        return bound, cause

    def two_norm(self, a: Sequence[Sequence[Fraction]], fresh: list[Bound], start: list[Bound]) -> Bound:
        """The error of ``s' = fl(A^ s + d^)`` over the length in the 2-norm (which bounds every coordinate's):
        ``E' <= (||A^||_2 + gamma_n sqrt(n) max_i ||A^_i||_1) E + ||c||_2``, with c_i the error of row i from an exact
        state (weights' and drive's errors, rounding) and ||A^||_2^2 <= ||A^T A^||_inf, in exact arithmetic on
        the stored weights: an orthogonal A (a rotation) keeps E growing linearly in the length."""
        n = len(a)
        stored = [[self.fmt.stored(v) for v in row] for row in a]
        if INF in (x for row in stored for x in row) or INF in fresh:
            return INF
        gram = max(sum(abs(sum((stored[k][i] * stored[k][j] for k in range(n)), Fraction(0))) for j in range(n))
                   for i in range(n))
        rows = max(sum((abs(v) for v in row), Fraction(0)) for row in stored)
        growth = _sqrt_up(gram) + self.fmt.gamma(2 * n + 1) * _sqrt_up(Fraction(n)) * rows
        increment = _sqrt_up(sum((_up(c) ** 2 for c in fresh), Fraction(0)))
        error, worst = _sqrt_up(sum((e ** 2 for e in start), Fraction(0))), Fraction(0)
        if self.max_length is None:
            return _up(increment / (1 - growth)) if growth < 1 else INF
        for _ in range(self.max_length):
            error = _up(growth * error + increment)
            worst = max(worst, error)
        return worst

    def iterate(self, step, errors: list[Bound], causes: list[Cause | None]) -> tuple[Bound, Cause | None]:
        """The largest error of s_1..s_T: exact when the first step from exact states is; else the scalar
        recursion ``E_t <= c + rho E_{t-1}`` (step is affine in the errors once they are nonzero)."""
        first = step(errors, causes)
        cause = next((c for _, c in first if c), None) or next((c for c in causes if c), None)
        if all(e == 0 for e, _ in first) and all(e == 0 for e in errors):
            return Fraction(0), None
        tiny, big = Fraction(1, 2 ** 1200), Fraction(2 ** 64)
        at = [max(e for e, _ in step([k] * len(errors), [cause] * len(errors))) for k in (tiny, big)]
        if INF in at:
            return INF, cause
        c = at[0]  # >= step's value as the errors go to 0 (it is affine in them, slope >= 0)
        rho = (at[1] - at[0] + at[1] / 2 ** (ERROR_BITS - 4)) / big  # >= the slope, despite the rounding up
        worst = current = max((e for e, _ in first), default=Fraction(0))
        if self.max_length is None:
            return (_up(max(worst, max(errors), c / (1 - rho))) if rho < 1 else INF), cause
        for _ in range(self.max_length - 1):
            current = _up(c + rho * current)
            worst = max(worst, current)
            if current == INF or current > self.fmt.largest:
                return INF, cause
        return worst, cause


def output_errors(plan: Plan, dtype: str, max_length: int | None = None) -> tuple[OutputError, ...]:
    """Per output: a proved bound on |float ``dtype`` model - exact interpreter| over every step, for
    inputs in the analysed ranges and sequences of at most ``max_length`` steps."""
    analysis = _Analysis(plan, Format(dtype), max_length)
    analysis.run()
    out, rows = [], iter(plan.readout)
    for name, node in plan.ctx.program.outputs:
        bound, cause = Fraction(0), None
        for _ in range(node.dim):
            value = analysis.row(next(rows), node, f"output {name!r}")
            bound = max(bound, value.error)
            cause = cause or value.cause
        if analysis.overflow:  # maps mix channels through products whose zero weights turn an inf into a nan
            bound, cause = INF, cause or analysis.overflow
        out.append(OutputError(name, bound, cause))
    return tuple(out)


def exact_in_float(plan: Plan, dtype: str) -> bool:
    """Whether the float ``dtype`` model provably computes exactly the exact interpreter's values."""
    return all(o.bound == 0 for o in output_errors(plan, dtype))

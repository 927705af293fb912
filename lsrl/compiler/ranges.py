"""Range analysis: for every atom (and any affine row over atoms), an interval that holds at every step of every
run, and a lattice ``offset + step * Z`` that holds every value, from the fused forms. Why: docs/compiler.md#range-analysis
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import numpy as np

from lsrl.compiler.fuse import Atom, Form, Row, is_atom
from lsrl.compiler.reachable import Reachable, reachable
from lsrl.lang.graph import (
    Affine,
    AutomatonState,
    CheckedProgram,
    Concat,
    DeltaState,
    DiagonalState,
    Input,
    LtiState,
    Multiply,
    Node,
    Relu,
    Slice,
)
from proofs.cyclotomic import Algebraic

INF = math.inf
Bound = Fraction | float  # a float only for +-inf
FIXPOINT_STEPS = 64  # iterations of a state's interval before widening, when the length is unbounded


def _gcd(a: Fraction, b: Fraction) -> Fraction:
    a, b = abs(a), abs(b)
    return Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator), a.denominator * b.denominator)


def _mul(a: Bound, b: Bound) -> Bound:
    """Product with 0 * inf = 0 (a zero factor of an unbounded interval contributes nothing)."""
    return Fraction(0) if a == 0 or b == 0 else a * b


@dataclass(frozen=True)
class Lattice:
    """Every value lies in ``offset + step * Z``; ``step == 0`` is the single value ``offset``."""

    step: Fraction
    offset: Fraction

    @staticmethod
    def of(step: Fraction, offset: Fraction) -> Lattice:
        step = abs(Fraction(step))
        return Lattice(step, Fraction(offset) % step if step else Fraction(offset))

    def plus(self, other: Lattice) -> Lattice:
        return Lattice.of(_gcd(self.step, other.step), self.offset + other.offset)

    def scaled(self, w: Fraction) -> Lattice:
        return Lattice.of(self.step * w, self.offset * w)

    def times(self, other: Lattice) -> Lattice:
        step = reduce(_gcd, (self.offset * other.step, other.offset * self.step, self.step * other.step))
        return Lattice.of(step, self.offset * other.offset)

    def join(self, other: Lattice) -> Lattice:
        return Lattice.of(reduce(_gcd, (self.step, other.step, self.offset - other.offset)), self.offset)

    def floor(self, v: Fraction) -> Fraction:
        return self.offset + math.floor((v - self.offset) / self.step) * self.step

    def ceil(self, v: Fraction) -> Fraction:
        return self.offset + math.ceil((v - self.offset) / self.step) * self.step


@dataclass(frozen=True)
class Interval:
    """``lo <= value <= hi`` (bounds may be infinite), values on ``lattice`` when it is not None."""

    lo: Bound
    hi: Bound
    lattice: Lattice | None = None

    @staticmethod
    def make(lo: Bound, hi: Bound, lattice: Lattice | None) -> Interval:
        """The interval with finite bounds moved inwards to the nearest lattice points."""
        if lattice is not None and lattice.step:
            lo = lattice.ceil(lo) if lo != -INF else lo
            hi = lattice.floor(hi) if hi != INF else hi
        return Interval(lo, hi, lattice)

    @staticmethod
    def point(value: Fraction | Algebraic) -> Interval:
        """The single value; an irrational one (``Algebraic``) as a rational enclosure, without a lattice."""
        if isinstance(value, Algebraic):
            return Interval(*value.bounds())
        return Interval(Fraction(value), Fraction(value), Lattice.of(Fraction(0), Fraction(value)))

    @property
    def magnitude(self) -> Bound:
        return max(abs(self.lo), abs(self.hi))

    @property
    def bounded(self) -> bool:
        return self.magnitude != INF

    def plus(self, other: Interval) -> Interval:
        lattice = self.lattice.plus(other.lattice) if self.lattice and other.lattice else None
        return Interval.make(self.lo + other.lo, self.hi + other.hi, lattice)

    def scaled(self, w: Fraction | Algebraic) -> Interval:
        if w == 0:
            return Interval.point(Fraction(0))
        if isinstance(w, Algebraic):
            return self.times(Interval.point(w))
        lo, hi = (_mul(self.lo, w), _mul(self.hi, w)) if w > 0 else (_mul(self.hi, w), _mul(self.lo, w))
        return Interval.make(lo, hi, self.lattice.scaled(w) if self.lattice else None)

    def times(self, other: Interval) -> Interval:
        corners = [_mul(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        lattice = self.lattice.times(other.lattice) if self.lattice and other.lattice else None
        return Interval.make(min(corners), max(corners), lattice)

    def relu(self) -> Interval:
        if self.hi <= 0:
            return Interval.point(Fraction(0))
        lattice = self.lattice
        if lattice is not None and self.lo < 0:
            lattice = lattice.join(Lattice.of(Fraction(0), Fraction(0)))
        return Interval.make(max(self.lo, Fraction(0)), self.hi, lattice)

    def join(self, other: Interval) -> Interval:
        lattice = self.lattice.join(other.lattice) if self.lattice and other.lattice else None
        return Interval.make(min(self.lo, other.lo), max(self.hi, other.hi), lattice)

    def meet(self, other: Interval) -> Interval:
        return Interval.make(max(self.lo, other.lo), min(self.hi, other.hi), self.lattice)

    def within(self, lo: Fraction, hi: Fraction) -> bool:
        return lo <= self.lo and self.hi <= hi

    def is_boolean(self) -> bool:
        """Whether every value is 0 or 1: the lattice points in [lo, hi] are among {0, 1}."""
        if self.lattice is None or not self.within(Fraction(0), Fraction(1)):
            return False
        if self.lattice.step == 0:
            return self.lattice.offset in (0, 1)
        return self.lo in (0, 1) and self.hi in (0, 1) and self.lo + self.lattice.step >= self.hi

    def __str__(self) -> str:
        grid = "" if self.lattice is None else (f" on {self.lattice.offset} + {self.lattice.step}Z"
                                                 if self.lattice.step else "")
        return f"[{self.lo}, {self.hi}]{grid}"


UNBOUNDED = Interval(-INF, INF, None)
BOOLEAN = Interval(Fraction(0), Fraction(1), Lattice.of(Fraction(1), Fraction(0)))


class Ranges:
    """Intervals of atoms, and of any affine row over them (computed on demand, memoised)."""

    def __init__(self, forms: Mapping[Node, Form]):
        self.forms = forms
        self.atoms: dict[Atom, Interval] = {}
        self._rows: dict[int, tuple[Row, Interval]] = {}
        self._nodes: dict[Node, tuple[Interval, ...]] = {}
        self.one_hot: set[Node] = set()  # nodes whose value is always a unit vector
        self.reachable: dict[Node, Reachable] = {}  # delta states with a finite reachable set
        self.orbits: dict[Node, list[tuple]] = {}  # LTI states that read constants: their exact values
        self._roots: dict[Atom, Node | None] = {}
        self._values: dict[tuple[Atom, int], Fraction | Algebraic] = {}

    def node(self, node: Node) -> tuple[Interval, ...]:
        """The ranges of a node's components: from its fused form, met with those through the graph's
        own ``Affine`` nodes (where a refinement such as ``step`` applies to an intermediate node)."""
        if node not in self._nodes:
            fused = self.form(self.forms[node])
            if isinstance(node, Affine):
                inputs = [(t, self.node(t.node)) for t in node.terms]
                structural = tuple(reduce(Interval.plus, (x.scaled(w) for t, xs in inputs for w, x in zip(t.weight[r], xs)
                                                          if w != 0), Interval.point(node.bias[r]))
                                   for r in range(node.dim))
                fused = tuple(a.meet(b) for a, b in zip(fused, structural))
            elif isinstance(node, Concat):
                fused = tuple(x for part in node.parts for x in self.node(part))
            elif isinstance(node, Slice):
                fused = self.node(node.x)[node.start:node.stop]
            self._nodes[node] = fused
        return self._nodes[node]

    def form(self, form: Form) -> tuple[Interval, ...]:
        return tuple(self.row(row) for row in form)

    def row(self, row: Row) -> Interval:
        """The range of ``row``: terms are grouped into ReLUs of one common variable (evaluated exactly
        by ``_one_variable``), components of one one-hot node (one of them is 1), and single atoms."""
        if id(row) not in self._rows:
            groups: dict[object, list[tuple[Atom, Fraction]]] = {}
            for atom, coef in row.terms.items():
                groups.setdefault(self._group(atom), []).append((atom, coef))
            total = reduce(Interval.plus, (self._group_range(key, terms) for key, terms in groups.items()),
                           Interval.point(row.const))
            self._rows[id(row)] = (row, total)
        return self._rows[id(row)][1]

    def _group(self, atom: Atom) -> object:
        node, i = atom
        root = self._orbit_root(atom)
        if root is not None:
            return root
        if isinstance(node, Relu) and self.forms[node.x][i].terms and _rational(self.forms[node.x][i]):
            terms = sorted(self.forms[node.x][i].terms.items(), key=lambda item: (item[0][0].id, item[0][1]))
            return tuple((a[0].id, a[1], c / terms[0][1]) for a, c in terms)
        if node in self.one_hot:
            return node
        return atom

    def _orbit_root(self, atom: Atom) -> Node | None:
        """The LTI state with a finite orbit that ``atom`` is a function of (itself, or ReLUs of rows of it)."""
        if atom not in self._roots:
            node, i = atom
            root = node if node in self.orbits else None
            if isinstance(node, Relu) and self.forms[node.x][i].terms:
                roots = {self._orbit_root(a) for a in self.forms[node.x][i].terms}
                root = roots.pop() if len(roots) == 1 else None
            self._roots[atom] = root
        return self._roots[atom]

    def _orbit_value(self, atom: Atom, k: int) -> Fraction | Algebraic:
        """The exact value of an atom of ``_orbit_root`` at the k-th state of the orbit."""
        node, i = atom
        if node in self.orbits:
            return self.orbits[node][k][i]
        if (atom, k) not in self._values:
            row = self.forms[node.x][i]
            value = row.const + sum((c * self._orbit_value(a, k) for a, c in row.terms.items()), Fraction(0))
            self._values[atom, k] = max(value, Fraction(0))
        return self._values[atom, k]

    def _group_range(self, key: object, terms: list[tuple[Atom, Fraction]]) -> Interval:
        plain = reduce(Interval.plus, (self.atoms[a].scaled(c) for a, c in terms))
        if key in self.orbits:  # evaluated exactly on every value the state takes
            return reduce(Interval.join, (Interval.point(sum((c * self._orbit_value(a, k) for a, c in terms), Fraction(0)))
                                          for k in range(len(self.orbits[key]))))
        if isinstance(key, Node):
            coefs = {i: c for (_, i), c in terms}
            values = [Interval.point(coefs.get(i, Fraction(0))) for i in range(key.dim)]
            return plain.meet(reduce(Interval.join, values)) if len(terms) > 1 else plain
        if isinstance(key, tuple) and isinstance(key[0], tuple) and len(terms) > 1:
            refined = self._one_variable(terms)
            if refined is None:
                return plain
            return Interval.make(max(plain.lo, refined.lo), min(plain.hi, refined.hi), refined.lattice or plain.lattice)
        return plain

    def _one_variable(self, terms: list[tuple[Atom, Fraction]]) -> Interval | None:
        """The exact range of ``sum(w_i relu(l_i v + c_i))`` for one linear form v, over the lattice
        points of v's range: the function is linear between breakpoints, so its extremes are at the
        lattice points next to them and at the ends."""
        arguments = [(coef, self.forms[node.x][i]) for (node, i), coef in terms]
        if any(isinstance(coef, Algebraic) or not _rational(argument) for coef, argument in arguments):
            return None  # the breakpoints and lattices below are rational: irrational terms keep the plain range
        base = arguments[0][1].terms
        pieces = [(coef, _ratio(argument.terms, base), argument.const) for coef, argument in arguments]
        v = self.row(Row(base))

        def f(x: Fraction) -> Fraction:
            return sum(w * max(slope * x + c, Fraction(0)) for w, slope, c in pieces)

        points = [x for x in (v.lo, v.hi) if x not in (INF, -INF)]
        for _, slope, c in pieces:
            x = -c / slope
            near = [x] if v.lattice is None or v.lattice.step == 0 else [v.lattice.floor(x), v.lattice.ceil(x)]
            points.extend(p for p in near if v.lo <= p <= v.hi)
        if not points:
            return None
        points = sorted(set(points))
        values = [f(x) for x in points]
        lo, hi = min(values), max(values)
        left = sum(w * slope for w, slope, _ in pieces if slope < 0)  # f(x) ~ left * x as x -> -inf
        right = sum(w * slope for w, slope, _ in pieces if slope > 0)  # f(x) ~ right * x as x -> inf
        if v.lo == -INF:
            lo, hi = (-INF, hi) if left > 0 else (lo, INF) if left < 0 else (lo, hi)
        if v.hi == INF:
            lo, hi = (lo, INF) if right > 0 else (-INF, hi) if right < 0 else (lo, hi)
        return Interval.make(lo, hi, self._piecewise_lattice(v, points, values, left, right))

    @staticmethod
    def _piecewise_lattice(v: Interval, points: list[Fraction], values: list[Fraction], left: Fraction,
                           right: Fraction) -> Lattice | None:
        """The values' lattice: the candidate values, and ``f(p) + slope * step * Z`` on each piece
        with a nonzero slope that holds lattice points between its ends."""
        if v.lattice is None:
            return None
        lattice = reduce(Lattice.join, (Lattice.of(Fraction(0), y) for y in values))
        step = v.lattice.step
        pieces = list(zip(points, points[1:], values, values[1:]))
        for p, q, fp, fq in pieces:
            if fp != fq and step and v.lattice.ceil(p + step / 2) < q:
                lattice = lattice.join(Lattice.of((fq - fp) / (q - p) * step, fp))
        if v.lo == -INF and left:
            lattice = lattice.join(Lattice.of(left * step, values[0]))
        if v.hi == INF and right:
            lattice = lattice.join(Lattice.of(right * step, values[-1]))
        return lattice


def _rational(row: Row) -> bool:
    """Whether a row's coefficients are rational (the one-variable refinement needs lattices)."""
    return not any(isinstance(c, Algebraic) for c in (row.const, *row.terms.values()))


def _ratio(terms: Mapping[Atom, Fraction], base: Mapping[Atom, Fraction]) -> Fraction:
    """``l`` with ``terms == l * base`` (the caller grouped the rows by direction)."""
    first = next(iter(base))
    return terms[first] / base[first]


InputRanges = Mapping[str, Interval | Sequence[Interval]]


def analyse(program: CheckedProgram, forms: Mapping[Node, Form], inputs: InputRanges | None = None,
            max_length: int | None = None) -> Ranges:
    """Ranges of every atom of ``program``, for input sequences of at most ``max_length`` steps
    (unbounded if None) whose values lie in ``inputs[name]`` (one interval, or one per component;
    symbol inputs are one-hot, other inputs unbounded unless given)."""
    ranges = Ranges(forms)
    for node in program.nodes:
        if _is_one_hot(node, forms):
            ranges.one_hot.add(node)
        if is_atom(node):
            for i, interval in enumerate(_atom(node, ranges, inputs or {}, max_length)):
                ranges.atoms[node, i] = interval
    return ranges


def _atom(node: Node, r: Ranges, inputs: InputRanges, max_length: int | None) -> list[Interval]:
    forms = r.forms
    if isinstance(node, Input):
        given = inputs.get(node.name, BOOLEAN if node.alphabet is not None else UNBOUNDED)
        return list(given) if isinstance(given, Sequence) else [given] * node.dim
    if isinstance(node, Relu):
        return [x.relu() for x in r.node(node.x)]
    if isinstance(node, Multiply):
        return [x.times(y) for x, y in zip(r.node(node.x), r.node(node.y))]
    if isinstance(node, LtiState):
        orbit = _orbit(node, forms, max_length)
        if orbit is not None:
            r.orbits[node] = orbit
            return [reduce(Interval.join, (Interval.point(s[i]) for s in orbit)) for i in range(node.dim)]
        x, a, b = r.node(node.x), np.array(node.a, dtype=object), np.array(node.b, dtype=object)
        drive = [_dot(b[i], x) for i in range(node.dim)]
        return _reachable(lambda s: [_dot(a[i], s).plus(drive[i]) for i in range(node.dim)], node.init, max_length)
    if isinstance(node, DiagonalState):
        a, b = r.node(node.a), r.node(node.b)
        return _reachable(lambda s: [ai.times(si).plus(bi) for ai, si, bi in zip(a, s, b)], node.init, max_length)
    if isinstance(node, AutomatonState):
        return [BOOLEAN] * node.dim
    assert isinstance(node, DeltaState), node
    found = reachable(node, forms, r, max_length)
    if found is None or not found.states:
        return [UNBOUNDED] * node.dim
    r.reachable[node] = found
    return [reduce(Interval.join, (Interval.point(s[i]) for s in found.states)) for i in range(node.dim)]


MAX_ORBIT = 1024  # states of an autonomous LTI state enumerated before falling back to intervals


def _orbit(node: LtiState, forms: Mapping[Node, Form], max_length: int | None) -> list[tuple] | None:
    """The values s_1, s_2, ... of an LTI state whose input is constant (s_t = A s_{t-1} + c, exactly): all of
    them when the sequence repeats within MAX_ORBIT steps or ``max_length`` ends it first, else None."""
    if not all(row.is_constant() for row in forms[node.x]):
        return None
    n = range(node.dim)
    drive = [sum((node.b[i][j] * row.const for j, row in enumerate(forms[node.x])), Fraction(0)) for i in n]
    seen, state = [tuple(node.init)], tuple(node.init)
    for _ in range(min(MAX_ORBIT, max_length or MAX_ORBIT)):
        state = tuple(sum((node.a[i][k] * state[k] for k in n), Fraction(0)) + drive[i] for i in n)
        if state in seen:
            return seen[1:] + [state]
        seen.append(state)
    return seen[1:] if max_length is not None and len(seen) > max_length else None


def _is_one_hot(node: Node, forms: Mapping[Node, Form]) -> bool:
    """Symbols, automaton states, and LTI states that start one-hot, map unit vectors to unit vectors
    (0/1 columns with one 1 each: a function on coordinates) and read nothing."""
    if isinstance(node, Input):
        return node.alphabet is not None
    if isinstance(node, AutomatonState):
        return True
    if not isinstance(node, LtiState):
        return False
    columns_ok = all(sorted(col) == [0] * (node.dim - 1) + [1] for col in zip(*node.a))
    reads_nothing = all(w == 0 for row in node.b for w in row) or all(
        r.is_constant() and r.const == 0 for r in forms[node.x])
    return columns_ok and reads_nothing and sorted(node.init) == [0] * (node.dim - 1) + [1]


def _dot(weights: Sequence[Fraction], intervals: Sequence[Interval]) -> Interval:
    return reduce(Interval.plus, (x.scaled(w) for w, x in zip(weights, intervals) if w != 0), Interval.point(Fraction(0)))


def _reachable(step: Callable[[list[Interval]], list[Interval]], init: Sequence[Fraction],
               max_length: int | None) -> list[Interval]:
    """Intervals holding s_1..s_T for ``s_t = step(s_{t-1})``: the join of iterates until it is stable,
    for T - 1 iterations, or (T unbounded) with bounds still moving after FIXPOINT_STEPS widened."""
    s = step([Interval.point(v) for v in init])
    limit = INF if max_length is None else max_length - 1
    done = 0
    while done < limit:
        grown = [x.join(y) for x, y in zip(s, step(s))]
        if grown == s:
            return s
        done += 1
        if max_length is None and done % FIXPOINT_STEPS == 0:
            if done > FIXPOINT_STEPS:
                return [UNBOUNDED] * len(s)
            grown = [_widen(x, y) for x, y in zip(s, grown)]
        s = grown
    return s


def _widen(old: Interval, new: Interval) -> Interval:
    """Bounds that still move go to infinity; a lattice that still changes is dropped."""
    return Interval(-INF if new.lo < old.lo else new.lo, INF if new.hi > old.hi else new.hi,
                    new.lattice if new.lattice == old.lattice else None)

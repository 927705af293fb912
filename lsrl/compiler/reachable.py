"""Finite reachable sets of delta states: when the keys, values and rates read atoms with finitely many values,
the states reachable in at most ``max_length`` steps (or ever), by breadth-first search in exact arithmetic.
Consumes a delta node, the fused forms and the ranges of the atoms it reads; produces its states and steps."""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from lsrl.compiler.fuse import Atom, Form, Row
from lsrl.lang.graph import DeltaState, Node

MAX_VALUES = 64  # values of one atom (lattice points of its interval) that the search enumerates
MAX_CASES = 4096  # joint values of the atoms a delta state reads
MAX_STATES = 4096  # reachable states

State = tuple[Fraction, ...]  # S flattened row by row (key_dim x value_dim)


class AtomRanges(Protocol):
    """What the search reads of ``lsrl.compiler.ranges.Ranges``."""

    atoms: Mapping[Atom, object]
    one_hot: set[Node]


@dataclass(frozen=True)
class Step:
    """One step's factors: keys (factors x key_dim), values (factors x value_dim) and rates, exact."""

    keys: tuple[tuple[Fraction, ...], ...]
    values: tuple[tuple[Fraction, ...], ...]
    rates: tuple[Fraction, ...]


@dataclass(frozen=True)
class Reachable:
    """The states of steps 1..T (``states``) and every step's factors that can occur (``steps``)."""

    states: frozenset[State]
    steps: tuple[Step, ...]


def apply(node: DeltaState, s: State, step: Step) -> State:
    """``S <- S + beta k (v - S^T k)^T`` for each factor in order (the interpreter's update)."""
    dk, dv = node.key_dim, node.value_dim
    rows = [list(s[r * dv:(r + 1) * dv]) for r in range(dk)]
    for k, v, beta in zip(step.keys, step.values, step.rates):
        predicted = [sum((rows[r][c] * k[r] for r in range(dk)), Fraction(0)) for c in range(dv)]
        for r in range(dk):
            for c in range(dv):
                rows[r][c] += beta * k[r] * (v[c] - predicted[c])
    return tuple(x for row in rows for x in row)


def _choices(node: Node, i: int, ranges: AtomRanges) -> list[Fraction] | None:
    """The values of atom (node, i): the lattice points of its interval, or None if too many or unknown."""
    interval = ranges.atoms[node, i]
    lattice = getattr(interval, "lattice", None)
    if lattice is None or not interval.bounded:
        return None
    if lattice.step == 0:
        return [lattice.offset]
    count = (interval.hi - interval.lo) / lattice.step + 1
    if count > MAX_VALUES:
        return None
    return [interval.lo + j * lattice.step for j in range(int(count))]


def _assignments(rows: Sequence[Row], ranges: AtomRanges) -> list[dict[Atom, Fraction]] | None:
    """Every joint value of the atoms the rows read: one-hot nodes as their unit vectors, other atoms
    independently over their values (a superset of what occurs); None beyond the limits."""
    atoms = sorted({a for row in rows for a in row.terms}, key=lambda a: (a[0].id, a[1]))
    groups: list[list[dict[Atom, Fraction]]] = []
    for node in sorted({a[0] for a in atoms if a[0] in ranges.one_hot}, key=lambda n: n.id):
        groups.append([{(node, j): Fraction(int(j == hot)) for j in range(node.dim)} for hot in range(node.dim)])
    for atom in (a for a in atoms if a[0] not in ranges.one_hot):
        values = _choices(*atom, ranges)
        if values is None:
            return None
        groups.append([{atom: v} for v in values])
    total = 1
    for g in groups:
        total *= len(g)
    if total > MAX_CASES:
        return None
    return [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*groups)]


def _value(row: Row, at: Mapping[Atom, Fraction]) -> Fraction:
    return row.const + sum((c * at[a] for a, c in row.terms.items()), Fraction(0))


def steps(node: DeltaState, forms: Mapping[Node, Form], ranges: AtomRanges) -> tuple[Step, ...] | None:
    """Every step's factors that can occur, or None when the inputs take too many (or unknown) values."""
    k, v, beta = forms[node.k], forms[node.v], forms[node.beta]
    assignments = _assignments((*k, *v, *beta), ranges)
    if assignments is None:
        return None
    found = []
    for at in assignments:
        keys = tuple(tuple(_value(k[j * node.key_dim + r], at) for r in range(node.key_dim)) for j in range(node.factors))
        values = tuple(tuple(_value(v[j * node.value_dim + c], at) for c in range(node.value_dim))
                       for j in range(node.factors))
        found.append(Step(keys, values, tuple(_value(beta[j], at) for j in range(node.factors))))
    return tuple(dict.fromkeys(found))


def reachable(node: DeltaState, forms: Mapping[Node, Form], ranges: AtomRanges, max_length: int | None
              ) -> Reachable | None:
    """The states after 1..``max_length`` steps (every length when None), or None when the search exceeds
    its limits (too many input values or states, or an unbounded length that never closes)."""
    found = steps(node, forms, ranges)
    if found is None:
        return None
    frontier = {tuple(x for row in node.init for x in row)}
    seen: set[State] = set()
    depth = 0
    while frontier and (max_length is None or depth < max_length):
        frontier = {apply(node, s, step) for s in frontier for step in found} - seen
        seen |= frontier
        depth += 1
        if len(seen) > MAX_STATES:
            return None
    return Reachable(frozenset(seen), found)


Affine = tuple[list[list[Fraction]], list[list[Fraction]]]


def affine_step(node: DeltaState, step: Step) -> Affine:
    """(M, D) with one step's factors taking S to ``M S + D`` (M key_dim x key_dim, D key_dim x value_dim)."""
    n = range(node.key_dim)
    m = [[Fraction(int(r == q)) for q in n] for r in n]
    d = [[Fraction(0)] * node.value_dim for _ in n]
    for k, v, beta in zip(step.keys, step.values, step.rates):
        house = [[Fraction(int(r == q)) - beta * k[r] * k[q] for q in n] for r in n]
        m = [[sum((house[r][s] * m[s][q] for s in n), Fraction(0)) for q in n] for r in n]
        d = [[sum((house[r][s] * d[s][c] for s in n), Fraction(0)) + beta * k[r] * v[c] for c in range(node.value_dim)]
             for r in n]
    return m, d


def selected_by_bit(node: DeltaState, forms: Mapping[Node, Form], ranges: AtomRanges
                    ) -> tuple[Row, Affine, Affine] | None:
    """(b, step at b = 0, step at b = 1) when the keys, values and rates read one atom b proven Boolean: the
    state's transition is then affine in b, ``S -> M0 S + D0 + b ((M1 - M0) S + D1 - D0)``; else None."""
    rows = (*forms[node.k], *forms[node.v], *forms[node.beta])
    atoms = {a for row in rows for a in row.terms}
    if len(atoms) != 1:
        return None
    atom = next(iter(atoms))
    if not ranges.atoms[atom].is_boolean():
        return None
    found = steps(node, forms, ranges)
    if found is None or len(found) != 2:
        return None
    return Row({atom: Fraction(1)}), affine_step(node, found[0]), affine_step(node, found[1])

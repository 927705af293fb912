"""Observable reduction: LTI states that do not read one another are stacked, and the stack is replaced by its
observable part, the combinations of states that their readers can tell apart (Kalman 1963), in exact rational
arithmetic. Consumes a folded ``CheckedProgram`` and its fused forms; produces one with the same outputs."""
from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from lsrl.compiler.fold import remap
from lsrl.compiler.fuse import Form, is_atom
from lsrl.lang.graph import Affine, CheckedProgram, Concat, LtiState, Node, Term

Matrix = list[list[Fraction]]


@dataclass(frozen=True)
class Reduction:
    """Stacked states ``members`` (s = [s_1; ...]) replaced by ``z = R s`` with ``z' = A z + B u``, u the
    concatenation of their inputs, and each member by ``P_i z`` (rows of P with R P = I)."""

    members: tuple[LtiState, ...]
    a: Matrix
    b: Matrix
    init: list[Fraction]
    p: Matrix


def _rational(node: LtiState) -> bool:
    return all(type(v) is Fraction for rows in (node.a, node.b) for row in rows for v in row) and \
        all(type(v) is Fraction for v in node.init)


def _groups(program: CheckedProgram) -> list[list[LtiState]]:
    """LTI states by the number of LTI states on the longest path into them: states of one group do not read one
    another, so they may run as one stacked state."""
    depth: dict[Node, int] = {}
    groups: dict[int, list[LtiState]] = {}
    for node in program.nodes:
        depth[node] = max((depth[i] + isinstance(i, LtiState) for i in node.inputs()), default=0)
        if isinstance(node, LtiState) and _rational(node):
            groups.setdefault(depth[node], []).append(node)
    return list(groups.values())


def _readers(program: CheckedProgram, forms: Mapping[Node, Form], offsets: Mapping[Node, int], n: int) -> Matrix:
    """Every row through which an atom or an output reads the stacked states, restricted to them."""
    rows = []
    forms_read = [forms[i] for node in program.nodes if is_atom(node) for i in node.inputs()]
    forms_read += [forms[node] for _, node in program.outputs]
    for form in forms_read:
        for row in form:
            v = [Fraction(0)] * n
            for (node, i), c in row.terms.items():
                if node in offsets:
                    v[offsets[node] + i] += c
            if any(v):
                rows.append(v)
    return rows


def _echelon_add(basis: list[tuple[int, list[Fraction]]], v: list[Fraction]) -> bool:
    """Add v to the echelon basis (pivot, row) if it is independent of it."""
    v = list(v)
    for pivot, row in basis:
        if v[pivot]:
            factor = v[pivot] / row[pivot]
            v = [a - factor * b for a, b in zip(v, row)]
    pivot = next((j for j, a in enumerate(v) if a), None)
    if pivot is None:
        return False
    basis.append((pivot, v))
    return True


def _inverse(m: Matrix) -> Matrix:
    """The inverse of an invertible rational matrix, by Gauss-Jordan."""
    n = len(m)
    rows = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(m)]
    for c in range(n):
        pivot = next(r for r in range(c, n) if rows[r][c])
        rows[c], rows[pivot] = rows[pivot], rows[c]
        rows[c] = [v / rows[c][c] for v in rows[c]]
        for r in range(n):
            if r != c and rows[r][c]:
                rows[r] = [a - rows[r][c] * b for a, b in zip(rows[r], rows[c])]
    return [row[n:] for row in rows]


def _times(v: Sequence[Fraction], m: Sequence[Sequence[Fraction]]) -> list[Fraction]:
    return [sum((v[k] * m[k][j] for k in range(len(v)) if v[k]), Fraction(0)) for j in range(len(m[0]))]


def _reduction(group: list[LtiState], program: CheckedProgram, forms: Mapping[Node, Form]) -> Reduction | None:
    """The observable part of the stacked group, or None when every combination is observed."""
    offsets, n = {}, 0
    for node in group:
        offsets[node], n = n, n + node.dim
    a = [[Fraction(0)] * n for _ in range(n)]
    widths = [len(node.b[0]) for node in group]
    b = [[Fraction(0)] * sum(widths) for _ in range(n)]
    column = 0
    for node, width in zip(group, widths):
        for i in range(node.dim):
            a[offsets[node] + i][offsets[node]:offsets[node] + node.dim] = node.a[i]
            b[offsets[node] + i][column:column + width] = node.b[i]
        column += width
    echelon: list[tuple[int, list[Fraction]]] = []
    chosen, queue = [], _readers(program, forms, offsets, n)
    while queue and len(chosen) < n:
        v = queue.pop(0)
        if _echelon_add(echelon, v):
            chosen.append(v)
            queue.append(_times(v, a))
    if len(chosen) == n:
        return None
    pivots = [p for p, _ in echelon]
    inverse = _inverse([[row[j] for j in pivots] for row in chosen])  # (R restricted to the pivots)^-1
    a_new = [_times([r[j] for j in pivots], inverse) for r in (_times(row, a) for row in chosen)]
    p = [[Fraction(0)] * len(chosen) for _ in range(n)]
    for k, j in enumerate(pivots):
        p[j] = inverse[k]
    init = [x for node in group for x in node.init]
    return Reduction(tuple(group), a_new, [_times(row, b) for row in chosen], _times_rows(chosen, init), p)


def _times_rows(rows: Matrix, v: Sequence[Fraction]) -> list[Fraction]:
    return [sum((r[k] * v[k] for k in range(len(v))), Fraction(0)) for r in rows]


def reduce_states(program: CheckedProgram, forms: Mapping[Node, Form]) -> CheckedProgram | None:
    """The program with each group of LTI states replaced by its observable part; None when none shrinks."""
    found = [r for group in _groups(program) if (r := _reduction(group, program, forms)) is not None]
    return _rebuild(program, found) if found else None


def _rebuild(program: CheckedProgram, reductions: list[Reduction]) -> CheckedProgram:
    """The program over the reduced states, renumbered in a topological order that keeps the original one
    wherever dependencies allow (Kahn's algorithm by original id)."""
    deps: dict[object, list[object]] = {}
    priority: dict[object, tuple[int, int]] = {}
    for node in program.nodes:
        deps[node], priority[node] = list(node.inputs()), (node.id, 0)
    for r in reductions:
        first = min(m.id for m in r.members)
        z, u = ("z", id(r)), ("u", id(r))
        deps[z], priority[z] = [u] if len(r.members) > 1 else [r.members[0].x], (first, -1)
        if len(r.members) > 1:
            deps[u], priority[u] = [m.x for m in r.members], (first, -2)
        for m in r.members:
            deps[m] = [z]
    users: dict[object, list[object]] = {key: [] for key in deps}
    waiting = {key: len(set(d)) for key, d in deps.items()}
    for key, d in deps.items():
        for dep in set(d):
            users[dep].append(key)
    ready = [(priority[k], n, k) for n, k in enumerate(deps) if not waiting[k]]
    heapq.heapify(ready)
    built: dict[object, Node] = {}
    order = {key: n for n, key in enumerate(deps)}
    owner = {m: r for r in reductions for m in r.members}
    while ready:
        _, _, key = heapq.heappop(ready)
        built[key] = _build(key, len(built), built, owner)
        for user in users[key]:
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, (priority[user], order[user], user))
    nodes = tuple(sorted(built.values(), key=lambda n: n.id))
    labels = {built[n]: label for n, label in program.labels.items()}
    chains = {built[n].id: program.chains[n.id] for n in program.nodes if n.id in program.chains}
    for r in reductions:
        z = built["z", id(r)]
        labels[z] = " + ".join(program.labels.get(m, f"state {m.id}") for m in r.members)
        first = min(r.members, key=lambda m: m.id)
        if first.id in program.chains:
            chains[z.id] = program.chains[first.id]
    return dataclasses.replace(program, inputs=tuple(built[i] for i in program.inputs),
                               outputs=tuple((name, built[n]) for name, n in program.outputs), nodes=nodes,
                               labels=labels, chains=chains)


def _build(key: object, new_id: int, built: dict[object, Node], owner: Mapping[Node, Reduction]) -> Node:
    """The node of ``key`` with id ``new_id`` over the nodes already built."""
    if isinstance(key, tuple):
        kind, rid = key
        r = next(r for r in owner.values() if id(r) == rid)
        first = min(r.members, key=lambda m: m.id)
        if kind == "u":
            parts = tuple(built[m.x] for m in r.members)
            return Concat(id=new_id, dim=sum(p.dim for p in parts), loc=first.loc, parts=parts)
        source = built["u", rid] if len(r.members) > 1 else built[r.members[0].x]
        return LtiState(id=new_id, dim=len(r.a), loc=first.loc, x=source, a=_freeze(r.a), b=_freeze(r.b),
                        init=tuple(r.init))
    reduction = owner.get(key)
    if reduction is not None:
        start = sum(m.dim for m in reduction.members[:reduction.members.index(key)])
        weight = _freeze(reduction.p[start:start + key.dim])
        return Affine(id=new_id, dim=key.dim, loc=key.loc, terms=(Term(built["z", id(reduction)], weight),),
                      bias=(Fraction(0),) * key.dim)
    fields = {f.name: getattr(key, f.name) for f in dataclasses.fields(key) if f.name not in ("id", "dim", "loc")}
    return dataclasses.replace(key, id=new_id, **{name: remap(value, built) for name, value in fields.items()})


def _freeze(m: Matrix) -> tuple[tuple[Fraction, ...], ...]:
    return tuple(tuple(row) for row in m)

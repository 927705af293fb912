"""When floats compute a compiled model exactly: a sufficient condition from the range analysis.

A float format with ``p`` significand bits represents every point of a lattice ``2^-k Z`` of
magnitude at most ``2^(p - k)``. If every value the model forms (atoms, the partial sums of every
linear map, every state update) lies on a dyadic lattice whose step is at least ``q`` and is bounded
by ``S <= 2^p q``, then every rounding is the identity and the float model equals the exact
interpreter: the error bound is 0. ``exact_in_float`` checks this over the plan; it answers False
(no claim) when a lattice is not dyadic, a range is unbounded, or an LTI state runs in a non-trivial
eigenbasis (whose channels the analysis does not bound)."""
from __future__ import annotations

from fractions import Fraction

from lsrl.compiler.fuse import Row
from lsrl.compiler.lower import Plan
from lsrl.compiler.ranges import INF, Interval, Ranges
from lsrl.graph import AutomatonState, DiagonalState, LtiState, Multiply, Node

SIGNIFICAND_BITS = {"float32": 24, "float64": 53}


def _dyadic(v: Fraction) -> bool:
    d = v.denominator
    return d & (d - 1) == 0


def _row_bound(row: Row, ranges: Ranges) -> Fraction | float:
    """A bound on every partial sum of ``row`` (in any order): sum of |coef| * |atom| and |const|."""
    return sum((abs(c) * ranges.atoms[a].magnitude for a, c in row.terms.items()), abs(row.const))


def _steps(row: Row, ranges: Ranges) -> list[Fraction] | None:
    """The lattice steps of the row's terms (None when a term has no lattice)."""
    steps = []
    for atom, coef in row.terms.items():
        lattice = ranges.atoms[atom].lattice
        if lattice is None:
            return None
        steps.extend(s for s in (abs(coef) * lattice.step, abs(coef * lattice.offset)) if s)
    steps.extend(s for s in (abs(row.const),) if s)
    return steps


def _update_rows(node: Node, plan: Plan) -> list[tuple[list[Row], list[Interval]]] | None:
    """Per state component: the rows and intervals whose sum forms its update, or None if uncertifiable."""
    forms, ranges = plan.ctx.forms, plan.ctx.ranges
    if isinstance(node, LtiState):
        x = forms[node.x]
        return [([Row({(node, j): a}) for j, a in enumerate(node.a[i]) if a]
                 + [Row({k: b * c for k, c in x[m].terms.items()}, b * x[m].const) for m, b in enumerate(node.b[i]) if b],
                 []) for i in range(node.dim)]
    if isinstance(node, DiagonalState):
        return [([forms[node.b][i]], [ranges.node(node.a)[i].times(ranges.atoms[node, i])]) for i in range(node.dim)]
    if isinstance(node, Multiply):
        return [([forms[node.x][i], forms[node.y][i]], []) for i in range(node.dim)]
    if isinstance(node, AutomatonState):
        return [([], [])] * node.dim
    return None


def exact_in_float(plan: Plan, dtype: str) -> bool:
    """Whether the float ``dtype`` model provably computes exactly the exact interpreter's values."""
    ranges = plan.ctx.ranges
    if plan.backend.arch == "mamba" and any(  # channels in a non-trivial eigenbasis are not analysed
            isinstance(n, LtiState) and any(n.a[i][j] for i in range(n.dim) for j in range(n.dim) if i != j)
            for b in plan.blocks for n in b.recurrence):
        return False
    rows = [row for form in plan.ctx.forms.values() for row in form]
    rows.extend(unit.row for b in plan.blocks for _, unit in b.hidden)
    intervals = list(ranges.atoms.values())
    for b in plan.blocks:
        for node in b.recurrence:
            updates = _update_rows(node, plan)
            if updates is None:
                return False
            for update, products in updates:
                rows.extend(update)
                intervals.extend(products)
                total = sum((_row_bound(r, ranges) for r in update), Fraction(0))
                intervals.append(Interval(-total, total, None) if total != INF else Interval(-INF, INF, None))
    steps: list[Fraction] = []
    bound: Fraction | float = Fraction(0)
    for row in rows:
        row_steps = _steps(row, ranges)
        if row_steps is None:
            return False
        steps.extend(row_steps)
        bound = max(bound, _row_bound(row, ranges))
    for interval in intervals:
        if interval.lattice is not None:
            steps.extend(s for s in (interval.lattice.step, abs(interval.lattice.offset)) if s)
        bound = max(bound, interval.magnitude)
    if bound == INF or not all(_dyadic(s) for s in steps):
        return False
    q = min(steps, default=Fraction(1))
    return bound <= 2 ** SIGNIFICAND_BITS[dtype] * q

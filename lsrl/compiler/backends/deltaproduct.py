"""DeltaProduct (``models.deltaproduct``, Siems et al. 2025): every recurrent atom becomes heads, matrix states
updated by generalized Householder factors with unnormalised keys. What and why: docs/compiler.md#backends---arch
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import numpy as np
import torch

from lsrl.compiler.backends import Context, Hidden, Layout, refuse, relu_units, unsupported, write_row
from lsrl.compiler.backends.lti import lti_input_rows
from lsrl.compiler.backends.mamba import eigenbasis, inverse
from lsrl.compiler.fuse import Row, combine
from lsrl.compiler.ranges import BOOLEAN, Interval
from lsrl.compiler.schedule import Kind
from lsrl.constructions.householder import Factor as HouseholderFactor
from lsrl.constructions.householder import letter_factors, transpositions
from lsrl.lang.graph import AutomatonState, DeltaState, DiagonalState, LtiState, Multiply, Node, Relu
from models.config import LayerConfig
from models.deltaproduct import DeltaProductRecurrence
from models.registry import Architecture

ZERO, ONE, TWO = Row({}, Fraction(0)), Row({}, Fraction(1)), Row({}, Fraction(2))


@dataclass(frozen=True)
class Factor:
    """One Householder factor of a head: key (d_k rows), value (d_v rows) and rate, over the stream."""

    key: tuple[Row, ...]
    value: tuple[Row, ...]
    rate: Row


@dataclass(frozen=True)
class Head:
    """A head: its factors per token, initial state (d_k x d_v), query (d_k rows), where each column of
    ``o = S^T q`` goes (component of the atom, coefficient), and intervals holding S's entries at every step."""

    factors: tuple[Factor, ...]
    init: tuple[tuple[Fraction, ...], ...]
    query: tuple[Row, ...]
    outputs: tuple[tuple[tuple[int, Fraction], ...], ...]
    state: tuple[tuple[Interval, ...], ...]


def _half(row: Row) -> Row:
    return combine([(Fraction(1, 2), row)])


def _scale_then_add(rate: Row | None, drive: Sequence[Row]) -> tuple[Factor, ...]:
    """Factors taking S to ``(1 - rate) S + drive`` for a 1 x d_v state: an optional scaling factor, then two
    reflections (or one when the scaling is -1, ``rate`` = 2)."""
    zeros = tuple(ZERO for _ in drive)
    if rate is not None and rate.is_constant() and rate.const == 2:
        return (Factor((ONE,), tuple(_half(u) for u in drive), TWO),)
    scaling = () if rate is None or (rate.is_constant() and rate.const == 0) else (Factor((ONE,), zeros, rate),)
    return (*scaling, Factor((ONE,), zeros, TWO), Factor((ONE,), tuple(_half(u) for u in drive), TWO))


def _joined(interval: Interval, start: Fraction) -> Interval:
    return interval.join(Interval.point(start))


class DeltaProductBackend:
    """The DeltaProduct classes of ``models.registry`` (n_h factors, or at most ``arch.n_h``; beta in its range)."""

    arch = "deltaproduct"

    def __init__(self, arch: Architecture):
        self.name = arch.name
        self.max_factors = arch.n_h
        self.lo, self.hi = (Fraction(v) for v in arch.gate_range)
        self.extra = dict(arch.layer)

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, Relu):
            return "mlp"
        self.heads(node, ctx)  # refuses what it cannot realise
        return "recurrence"

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]:
        return relu_units(node, ctx)

    def heads(self, node: Node, ctx: Context) -> list[Head]:
        """The heads realising ``node``; ``ConstructNotExpressible`` names why when there are none."""
        makers = {DeltaState: self._delta, Multiply: self._product, LtiState: self._lti,
                  DiagonalState: self._diagonal, AutomatonState: self._automaton}
        if type(node) not in makers:
            raise unsupported(self, node, ctx)
        heads = makers[type(node)](node, ctx)
        for head in heads:
            self._check(node, ctx, head)
        return heads

    def _check(self, node: Node, ctx: Context, head: Head) -> None:
        if self.max_factors is not None and len(head.factors) > self.max_factors:
            raise refuse(self, node, ctx, f"it needs {len(head.factors)} Householder factors per token and "
                                          f"{self.name} has {self.max_factors}: try deltaproduct")
        for j, factor in enumerate(head.factors):
            rate = ctx.ranges.row(factor.rate)
            if not rate.within(self.lo, self.hi):
                raise refuse(self, node, ctx, f"the rate beta of factor {j} ranges over {rate}, which the analysis "
                                              f"cannot place inside {self.name}'s [{self.lo}, {self.hi}]")

    def _delta(self, node: DeltaState, ctx: Context) -> list[Head]:
        k, v, beta = ctx.forms[node.k], ctx.forms[node.v], ctx.forms[node.beta]
        dk, dv = node.key_dim, node.value_dim
        factors = tuple(Factor(k[j * dk:(j + 1) * dk], v[j * dv:(j + 1) * dv], beta[j]) for j in range(node.factors))
        ranges = ctx.ranges.node(node)
        state = tuple(tuple(_joined(ranges[r * dv + c], node.init[r][c]) for c in range(dv)) for r in range(dk))
        return [Head(factors, node.init, tuple(ONE if q == r else ZERO for q in range(dk)),
                     tuple(((r * dv + c, Fraction(1)),) for c in range(dv)), state) for r in range(dk)]

    def _product(self, node: Multiply, ctx: Context) -> list[Head]:
        xs, ys = ctx.forms[node.x], ctx.forms[node.y]
        return [Head((Factor((ONE,), (x,), ONE),), ((Fraction(0),),), (y,), (((i, Fraction(1)),),),
                     ((_joined(ctx.ranges.row(x), Fraction(0)),),)) for i, (x, y) in enumerate(zip(xs, ys))]

    def _diagonal(self, node: DiagonalState, ctx: Context) -> list[Head]:
        heads = []
        for i, (a, b) in enumerate(zip(ctx.forms[node.a], ctx.forms[node.b])):
            rate = combine([(Fraction(-1), a)], Fraction(1))
            heads.append(Head(_scale_then_add(rate, (b,)), ((node.init[i],),), (ONE,), (((i, Fraction(1)),),),
                              ((_joined(ctx.ranges.node(node)[i], node.init[i]),),)))
        return heads

    def _lti(self, node: LtiState, ctx: Context) -> list[Head]:
        basis = eigenbasis(node.a)
        if basis is None:
            return self._partial_permutation(node, ctx)
        p, d = basis
        outside = [v for v in d if not -1 <= v <= 1]
        if outside:
            raise refuse(self, node, ctx, f"A has eigenvalue {outside[0]}: Householder factors with beta in [0, 2] "
                                          "have eigenvalues in [-1, 1]")
        inv = inverse(p)
        n = range(node.dim)
        drive = lti_input_rows(node, ctx, [[sum(inv[j][k] * node.b[k][m] for k in n) for m in range(len(node.b[0]))]
                                           for j in n])
        init = [sum(inv[j][k] * node.init[k] for k in n) for j in n]
        atoms = ctx.ranges.node(node)
        box = [_joined(reduce(Interval.plus, (atoms[k].scaled(inv[j][k]) for k in n if inv[j][k]),
                              Interval.point(Fraction(0))), init[j]) for j in n]
        heads = []
        for value in dict.fromkeys(d):
            group = [j for j in n if d[j] == value]
            rate = None if value == 1 else Row({}, 1 - value)
            heads.append(Head(_scale_then_add(rate, [drive[j] for j in group]), (tuple(init[j] for j in group),),
                              (ONE,), tuple(tuple((i, p[i][j]) for i in n if p[i][j]) for j in group),
                              (tuple(box[j] for j in group),)))
        return heads

    def _partial_permutation(self, node: LtiState, ctx: Context) -> list[Head]:
        """``s' = A s + B x`` for a 0/1 matrix A with at most one 1 per row and per column (cyclic shifts, delay
        lines): A completed to a permutation (transpositions, beta = 1 on keys e_i - e_j), then every row of A
        that is zero reset to its input (k = e_r, beta = 1), and every other row's input added by two
        reflections. One head per row of s (read with q = e_r)."""
        n = node.dim
        a = node.a
        if any(v not in (0, 1) for row in a for v in row) or any(sum(row) > 1 for row in a) or \
                any(sum(col) > 1 for col in zip(*a)):
            raise refuse(self, node, ctx, "its matrix A is neither diagonalisable over the rationals with eigenvalues "
                                          "in [-1, 1] nor a partial permutation (0/1, one 1 per row and column at "
                                          "most), the two forms realised by Householder heads")
        image = {q: r for r in range(n) for q in range(n) if a[r][q]}  # column q -> row r
        free_rows = iter([r for r in range(n) if not any(a[r])])
        permutation = np.array([image[q] if q in image else next(free_rows) for q in range(n)])
        factors: list[Factor] = []
        for i, j in transpositions(permutation):
            factors.append(Factor(tuple(Row({}, Fraction((r == i) - (r == j))) for r in range(n)), (ZERO,), ONE))
        drive = lti_input_rows(node, ctx)
        for r in range(n):
            key = tuple(ONE if q == r else ZERO for q in range(n))
            if not any(a[r]):
                factors.append(Factor(key, (drive[r],), ONE))
            elif drive[r].terms or drive[r].const:
                factors += [Factor(key, (ZERO,), TWO), Factor(key, (_half(drive[r]),), TWO)]
        ranges = ctx.ranges.node(node)
        state = tuple((_joined(ranges[r], node.init[r]),) for r in range(n))
        return [Head(tuple(factors), tuple((v,) for v in node.init), tuple(ONE if q == r else ZERO for q in range(n)),
                     (((r, Fraction(1)),),), state) for r in range(n)]

    def _automaton(self, node: AutomatonState, ctx: Context) -> list[Head]:
        x = ctx.forms[node.x]
        if not (all(r.is_boolean() for r in ctx.ranges.node(node.x))
                and ctx.ranges.row(combine((Fraction(1), r) for r in x)).within(Fraction(1), Fraction(1))):
            raise refuse(self, node, ctx, "its symbols are not proven one-hot")
        dfa, n = node.dfa, node.dfa.n_states
        letters = []
        for a in range(dfa.n_symbols):
            factors = letter_factors(np.asarray(dfa.delta[:, a]))
            if factors is None:
                raise refuse(self, node, ctx, (
                    f"letter {dfa.alphabet[a]!r} maps the states neither injectively nor to one state; one layer "
                    "over one-hot states applies permutations and resets only (the construction of "
                    "lsrl.constructions.householder), and the Krohn-Rhodes cascade of layers that other letters "
                    "need is not implemented (Grazzi et al. 2025, Thm 4)"))
            letters.append(factors)

        def selected(j: int, pick: Callable[[HouseholderFactor], float]) -> Row:
            """Factor j of the symbol read (identity for a letter with fewer factors: rate 0)."""
            return combine((Fraction(pick(f[j])), x[a]) for a, f in enumerate(letters) if j < len(f))

        factors = tuple(Factor(tuple(selected(j, lambda f, r=r: f.key[r]) for r in range(n)),
                               (selected(j, lambda f: f.value[0]),), selected(j, lambda f: f.beta))
                        for j in range(max(len(f) for f in letters)))
        init = tuple((v,) for v in node.init())
        state = tuple((BOOLEAN,) for _ in range(n))
        return [Head(factors, init, tuple(ONE if r == q else ZERO for r in range(n)), (((q, Fraction(1)),),), state)
                for q in range(n)]

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        heads = [h for node in nodes for h in self.heads(node, ctx)]
        return LayerConfig(d_state=max((len(h.query) for h in heads), default=1),
                           d_value=max((len(h.outputs) for h in heads), default=1),
                           n_h=max((len(h.factors) for h in heads), default=1), heads=max(len(heads), 1),
                           gate_range=(float(self.lo), float(self.hi)), mlp_hidden=mlp_hidden, **self.extra)

    def write(self, module: DeltaProductRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        dk, dv, h = module.d_key, module.d_value, module.heads
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            if module.to_alpha is not None:
                module.to_alpha.bias.fill_(1.0)  # decay clamp(1, 0, 1) = 1: exp(log 1) = 1 exactly
            heads = [(node, head) for node in nodes for head in self.heads(node, ctx)]
            for g, (node, head) in enumerate(heads):
                for j, factor in enumerate(head.factors):
                    for r, row in enumerate(factor.key):
                        write_row(module.to_k.weight, module.to_k.bias, (j * h + g) * dk + r, row, layout)
                    for c, row in enumerate(factor.value):
                        write_row(module.to_v.weight, module.to_v.bias, (j * h + g) * dv + c, row, layout)
                    write_row(module.to_beta.weight, module.to_beta.bias, j * h + g, factor.rate, layout)
                for r, row in enumerate(head.query):
                    write_row(module.to_q.weight, module.to_q.bias, g * dk + r, row, layout)
                    for c, v in enumerate(head.init[r]):
                        module.s0[g * dk + r, c] = float(v)
                for c, targets in enumerate(head.outputs):
                    for i, coef in targets:
                        module.out.weight[layout.index((node, i)), g * dv + c] += float(coef)

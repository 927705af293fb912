"""Mamba backend (``models.mamba``, per channel ``h_t = a_t h_{t-1} + g_t u_t``) after LSRL's conversion: what it realises
and refuses is in docs/compiler.md#backends---arch."""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import sympy
import torch
from sympy.matrices.exceptions import MatrixError

from lsrl.compiler.backends import Context, Hidden, Layout, refuse, relu_units, unsupported, write_row
from lsrl.compiler.backends.lti import lti_input_rows
from lsrl.compiler.fuse import Row
from lsrl.compiler.schedule import Kind
from lsrl.lang.graph import DiagonalState, LtiState, Multiply, Node, Relu
from models.config import LayerConfig
from models.mamba import MambaRecurrence
from proofs.cyclotomic import to_sympy

ONE = Row({}, Fraction(1))


def eigenbasis(a: tuple[tuple[Fraction, ...], ...]) -> tuple[list[list[Fraction]], list[Fraction]] | None:
    """(P, D) with A = P diag(D) P^-1 over the rationals, or None when there is none."""
    n = len(a)
    if all(a[i][j] == 0 for i in range(n) for j in range(n) if i != j):
        return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)], [a[i][i] for i in range(n)]
    try:
        p, d = sympy.Matrix([[to_sympy(v) for v in row] for row in a]).diagonalize()
    except MatrixError:
        return None
    if not all(v.is_rational for v in (*p, *d)):
        return None
    as_fraction = lambda v: Fraction(int(v.p), int(v.q))  # noqa: E731
    return [[as_fraction(p[i, j]) for j in range(n)] for i in range(n)], [as_fraction(d[i, i]) for i in range(n)]


def inverse(p: list[list[Fraction]]) -> list[list[Fraction]]:
    inv = sympy.Matrix(p).inv()
    return [[Fraction(int(v.p), int(v.q)) for v in inv.row(i)] for i in range(len(p))]


class MambaBackend:
    arch = "mamba"

    def __init__(self, negative: bool):
        self.negative = negative
        self.name = "mamba-neg" if negative else "mamba"
        self.lo, self.hi = (Fraction(-1) if negative else Fraction(0)), Fraction(1)

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, Relu):
            return "mlp"
        if isinstance(node, Multiply):
            return "recurrence"
        if isinstance(node, DiagonalState):
            for i, gate in enumerate(ctx.ranges.node(node.a)):
                if not gate.within(self.lo, self.hi):
                    negative = self.lo == 0 and gate.within(-self.hi, self.hi)
                    hint = "; gates below 0 need negative eigenvalues: try mamba-neg" if negative else ""
                    raise refuse(self, node, ctx, f"gate component {i} ranges over {gate}, which the analysis "
                                                  f"cannot place inside [{self.lo}, {self.hi}]{hint}")
            return "recurrence"
        if isinstance(node, LtiState):
            basis = eigenbasis(node.a)
            if basis is None:
                raise refuse(self, node, ctx, "its matrix A is not diagonalisable over the rationals (a Jordan "
                                              "block such as a delay line, or irrational or complex eigenvalues)")
            outside = [v for v in basis[1] if not self.lo <= v <= self.hi]
            if outside:
                raise refuse(self, node, ctx, f"A has eigenvalue {outside[0]} outside the gate range "
                                              f"[{self.lo}, {self.hi}]")
            return "recurrence"
        raise unsupported(self, node, ctx)

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]:
        return relu_units(node, ctx)

    def channels(self, node: Node, ctx: Context) -> int:
        return node.dim

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        return LayerConfig(d_state=sum(self.channels(n, ctx) for n in nodes), mlp_hidden=mlp_hidden,
                           gate_range=(float(self.lo), float(self.hi)))

    def write(self, module: MambaRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                self._write_node(module, node, start, layout, ctx)
                start += node.dim

    def _write_node(self, m: MambaRecurrence, node: Node, start: int, layout: Layout, ctx: Context) -> None:
        forms = ctx.forms
        if isinstance(node, Multiply):
            channels = [(Row(), forms[node.x][i], forms[node.y][i], Fraction(0)) for i in range(node.dim)]
            outputs = [[(i, Fraction(1))] for i in range(node.dim)]
        elif isinstance(node, DiagonalState):
            channels = [(forms[node.a][i], forms[node.b][i], ONE, node.init[i]) for i in range(node.dim)]
            outputs = [[(i, Fraction(1))] for i in range(node.dim)]
        else:
            p, d = eigenbasis(node.a)
            inv = inverse(p)
            rows = lti_input_rows(node, ctx, [[sum(inv[j][k] * node.b[k][m] for k in range(node.dim))
                                               for m in range(len(node.b[0]))] for j in range(node.dim)])
            init = [sum(inv[j][k] * node.init[k] for k in range(node.dim)) for j in range(node.dim)]
            channels = [(Row({}, d[j]), rows[j], ONE, init[j]) for j in range(node.dim)]
            outputs = [[(i, p[i][j]) for i in range(node.dim) if p[i][j] != 0] for j in range(node.dim)]
        for j, (gate, u, g, h0) in enumerate(channels):
            write_row(m.to_a.weight, m.to_a.bias, start + j, gate, layout)
            write_row(m.to_b.weight, m.to_b.bias, start + j, u, layout)
            write_row(m.to_g.weight, m.to_g.bias, start + j, g, layout)
            m.h0[start + j] = float(h0)
            for i, coef in outputs[j]:
                m.out.weight[layout.index((node, i)), start + j] = float(coef)

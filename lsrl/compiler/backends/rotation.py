"""Complex diagonal recurrences (``models.rotation``, exact path ``h = (u + i w) h + b``): every recurrent atom becomes
complex channels whose gates have modulus <= 1, in exact eigenbases. What and why: docs/compiler.md#backends---arch
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import sympy
import torch

from lsrl.compiler.backends import Context, Layout, ReluMlpBackend, refuse, unsupported, write_row
from lsrl.compiler.backends.lti import lti_input_rows
from lsrl.compiler.fuse import Row, combine
from lsrl.compiler.ranges import Interval
from lsrl.compiler.reachable import selected_by_bit
from lsrl.lang.graph import DeltaState, DiagonalState, LtiState, Node
from models.config import LayerConfig
from models.rotation import RotationRecurrence
from proofs.cyclotomic import Number, from_sympy, to_sympy

Gaussian = tuple[Number, Number]  # re, im: exact reals
ZERO = Row({}, Fraction(0))


@dataclass(frozen=True)
class Channel:
    """``h' = (u + i w) h + (re + i im)`` from ``init``; component i of the atom gets ``c_re Re h + c_im Im h``
    for each (i, c_re, c_im) of ``outputs``; ``box`` holds (Re h, Im h) at every step."""

    gate: tuple[Row, Row]
    drive: tuple[Row, Row]
    init: Gaussian
    outputs: tuple[tuple[int, Fraction, Fraction], ...]
    box: tuple[Interval, Interval]


def _gaussian(v: sympy.Expr) -> Gaussian | None:
    """(re, im) as exact reals (rationals, or cyclotomic ``Algebraic`` numbers such as sqrt(3) / 2), or None."""
    v = sympy.expand(v)
    re, im = from_sympy(sympy.expand(sympy.re(v))), from_sympy(sympy.expand(sympy.im(v)))
    return None if re is None or im is None else (re, im)


def diagonalised(a: Sequence[Sequence[Fraction]]) -> tuple[list[int], list[Gaussian], list[list[Gaussian]],
                                                             list[list[Gaussian]]] | str:
    """(kept, eigenvalues, P, P^-1) with A = P diag P^-1 over the exact reals plus i, eigenvectors of conjugate eigenvalues
    conjugate, ``kept`` the channels of real or upper-half-plane eigenvalues; or why there is none."""
    matrix = sympy.Matrix([[to_sympy(v) for v in row] for row in a])
    values, vectors = [], []
    for value, _, basis in matrix.eigenvects():
        if _gaussian(value) is None:
            return (f"A has the eigenvalue {value}, whose parts are not rationals or square roots of rationals "
                    "(lsrl's exact constants)")
        if sympy.im(value) < 0:
            continue
        for vector in basis:
            values.append(value)
            vectors.append(vector)
            if sympy.im(value) > 0:
                values.append(sympy.conjugate(value))
                vectors.append(vector.conjugate())
    if len(vectors) < len(a):
        return "A is not diagonalisable (a Jordan block, such as a delay line's shift)"
    p = sympy.Matrix.hstack(*vectors)
    inv = p.inv()
    kept = [j for j, v in enumerate(values) if sympy.im(v) >= 0]
    as_gaussian = lambda m: [[_gaussian(sympy.expand(m[i, j])) for j in range(m.cols)] for i in range(m.rows)]  # noqa: E731
    return kept, [_gaussian(v) for v in values], as_gaussian(p), as_gaussian(inv)


def _modulus_squared(v: Gaussian) -> Fraction:
    return v[0] ** 2 + v[1] ** 2


class RotationBackend(ReluMlpBackend):
    name = "rotation"
    arch = "rotation"

    def recurrent_units(self, node: Node, ctx: Context) -> object:
        return self.channels(node, ctx)

    def channels(self, node: Node, ctx: Context) -> list[Channel]:
        """The channels realising a recurrent atom; ``ConstructNotExpressible`` says why there are none."""
        if isinstance(node, LtiState):
            return self._lti(node, ctx)
        if isinstance(node, DiagonalState):
            return self._diagonal(node, ctx)
        if isinstance(node, DeltaState):
            return self._delta(node, ctx)
        raise unsupported(self, node, ctx)

    def _diagonal(self, node: DiagonalState, ctx: Context) -> list[Channel]:
        out = []
        for i, (a, b, gate) in enumerate(zip(ctx.forms[node.a], ctx.forms[node.b], ctx.ranges.node(node.a))):
            if not gate.within(Fraction(-1), Fraction(1)):
                raise refuse(self, node, ctx, f"gate component {i} ranges over {gate}, which the analysis cannot "
                                              "place inside [-1, 1] (a gate of modulus above 1 leaves the class)")
            box = ctx.ranges.node(node)[i].join(Interval.point(node.init[i]))
            out.append(Channel((a, ZERO), (b, ZERO), (node.init[i], Fraction(0)), ((i, Fraction(1), Fraction(0)),),
                               (box, Interval.point(Fraction(0)))))
        return out

    def _basis(self, node: Node, ctx: Context, a: Sequence[Sequence[Fraction]]):
        found = diagonalised(a)
        if isinstance(found, str):
            raise refuse(self, node, ctx, f"{found}; a diagonal complex recurrence realises only diagonalisable "
                                          "matrices")
        kept, values, p, inv = found
        big = next((values[j] for j in kept if _modulus_squared(values[j]) > 1), None)
        if big is not None:
            raise refuse(self, node, ctx, f"A has the eigenvalue {big[0]} + {big[1]}i of modulus above 1")
        return kept, values, p, inv

    def _lti(self, node: LtiState, ctx: Context) -> list[Channel]:
        kept, values, p, inv = self._basis(node, ctx, node.a)
        n, m = range(node.dim), range(len(node.b[0]))
        atoms = ctx.ranges.node(node)
        out = []
        for j in kept:
            drive = [lti_input_rows(node, ctx, [[sum(inv[j][k][part] * node.b[k][c] for k in n) for c in m]])[0]
                     for part in (0, 1)]
            init = tuple(sum((inv[j][k][part] * node.init[k] for k in n), Fraction(0)) for part in (0, 1))
            box = tuple(reduce(Interval.plus, (atoms[k].scaled(inv[j][k][part]) for k in n if inv[j][k][part]),
                               Interval.point(Fraction(0))).join(Interval.point(init[part])) for part in (0, 1))
            twice = 2 if values[j][1] else 1
            outputs = tuple((i, twice * p[i][j][0], -twice * p[i][j][1]) for i in n if p[i][j] != (0, 0))
            out.append(Channel((Row({}, values[j][0]), Row({}, values[j][1])), (drive[0], drive[1]), init, outputs,
                               box))
        return out

    def _delta(self, node: DeltaState, ctx: Context) -> list[Channel]:
        selected = selected_by_bit(node, ctx.forms, ctx.ranges)
        if selected is None:
            raise refuse(self, node, ctx, "its keys, values and rates do not read a single Boolean signal; a "
                                          "diagonal recurrence realises a Householder state only as the choice "
                                          "between two commuting transitions")
        bit, (m0, d0), (m1, d1) = selected
        identity = [[Fraction(int(r == q)) for q in range(node.key_dim)] for r in range(node.key_dim)]
        if m0 != identity:
            raise refuse(self, node, ctx, "it is not the identity when its signal is 0, so its two transitions "
                                          "would need one basis diagonalising both")
        kept, values, p, inv = self._basis(node, ctx, m1)
        n, dv = range(node.key_dim), node.value_dim
        atoms_of_node = ctx.ranges.node(node)
        out = []
        for c in range(dv):
            for j in kept:
                lam = values[j]
                gate = (combine([(lam[0] - 1, bit)], Fraction(1)), combine([(lam[1], bit)]))
                drive = tuple(combine([(sum(inv[j][k][part] * (d1[k][c] - d0[k][c]) for k in n), bit)],
                                      sum((inv[j][k][part] * d0[k][c] for k in n), Fraction(0))) for part in (0, 1))
                init = tuple(sum((inv[j][k][part] * node.init[k][c] for k in n), Fraction(0)) for part in (0, 1))
                box = tuple(reduce(Interval.plus, (atoms_of_node[k * dv + c].scaled(inv[j][k][part]) for k in n
                                                   if inv[j][k][part]), Interval.point(Fraction(0)))
                            .join(Interval.point(init[part])) for part in (0, 1))
                twice = 2 if lam[1] else 1
                outputs = tuple((r * dv + c, twice * p[r][j][0], -twice * p[r][j][1]) for r in n if p[r][j] != (0, 0))
                out.append(Channel(gate, drive, init, outputs, box))
        return out

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        return LayerConfig(d_state=2 * sum(len(self.channels(n, ctx)) for n in nodes), mlp_hidden=mlp_hidden)

    def write(self, module: RotationRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        half = module.channels
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            j = 0
            for node in nodes:
                for channel in self.channels(node, ctx):
                    for part in (0, 1):
                        write_row(module.to_a.weight, module.to_a.bias, part * half + j, channel.gate[part], layout)
                        write_row(module.to_b.weight, module.to_b.bias, part * half + j, channel.drive[part], layout)
                        module.h0[part * half + j] = float(channel.init[part])
                    for i, re, im in channel.outputs:
                        module.out.weight[layout.index((node, i)), j] += float(re)
                        module.out.weight[layout.index((node, i)), half + j] += float(im)
                    j += 1

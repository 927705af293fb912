"""Dense input-dependent linear RNN backend (``models.dense``, ``h_t = A(x_t) h_{t-1} + b(x_t)``): states
block-diagonally, products in the MLP (docs/compiler.md#backends---arch)."""
from __future__ import annotations

from fractions import Fraction

import torch

from lsrl.compiler.backends import Context, Layout, refuse, write_row
from lsrl.compiler.backends.lti import LtiBackend, lti_input_rows
from lsrl.compiler.fuse import Row, combine
from lsrl.compiler.reachable import Affine, selected_by_bit
from lsrl.compiler.schedule import Kind
from lsrl.lang.graph import AutomatonState, DeltaState, DiagonalState, LtiState, Node
from models.dense import DenseRecurrence


def _selected(backend: object, node: DeltaState, ctx: Context) -> tuple[Row, Affine, Affine]:
    """A delta state's transition as affine in the one Boolean signal it reads; refused otherwise."""
    selected = selected_by_bit(node, ctx.forms, ctx.ranges)
    if selected is None:
        raise refuse(backend, node, ctx, "its keys, values and rates do not read a single Boolean signal, so its "
                                         "transition is not affine in the stream; it needs a DeltaProduct layer")
    return selected


def _checked(node: DeltaState, ctx: Context) -> tuple[Row, Affine, Affine]:
    """The selection of a delta state that ``kind`` accepted."""
    selected = selected_by_bit(node, ctx.forms, ctx.ranges)
    assert selected is not None, node
    return selected


def transition_rows(node: Node, ctx: Context) -> dict[tuple[int, int], Row]:
    """A(x)[r, q] as rows over the stream, for the node's own block."""
    if isinstance(node, DeltaState):  # entry (r, c) of S, row-major; M acts on each column c
        bit, (m0, _), (m1, _) = _checked(node, ctx)
        dv, n = node.value_dim, range(node.key_dim)
        return {(r * dv + c, q * dv + c): combine([(m1[r][q] - m0[r][q], bit)], m0[r][q])
                for r in n for q in n for c in range(dv) if m0[r][q] or m1[r][q]}
    if isinstance(node, LtiState):
        return {(r, q): Row({}, v) for r, row in enumerate(node.a) for q, v in enumerate(row) if v != 0}
    if isinstance(node, DiagonalState):
        return {(i, i): ctx.forms[node.a][i] for i in range(node.dim)}
    m, x = node.transition_matrices(), ctx.forms[node.x]
    return {(r, q): combine((Fraction(int(m[a, r, q])), x[a]) for a in range(m.shape[0]))
            for r in range(node.dim) for q in range(node.dim) if m[:, r, q].any()}


def input_rows(node: Node, ctx: Context) -> list[Row]:
    """b(x) as rows over the stream."""
    if isinstance(node, DeltaState):
        bit, (_, d0), (_, d1) = _checked(node, ctx)
        return [combine([(d1[r][c] - d0[r][c], bit)], d0[r][c]) for r in range(node.key_dim)
                for c in range(node.value_dim)]
    if isinstance(node, LtiState):
        return lti_input_rows(node, ctx)
    if isinstance(node, DiagonalState):
        return list(ctx.forms[node.b])
    return [Row()] * node.dim


def initial_state(node: Node) -> list[Fraction]:
    if isinstance(node, AutomatonState):
        return list(node.init())
    if isinstance(node, DeltaState):
        return [v for row in node.init for v in row]
    return list(node.init)


class DenseBackend(LtiBackend):
    """The LTI backend's placement (ReLUs and Boolean-gated products in the MLP) with input-dependent
    recurrences: diagonal and automaton states join the LTI states in a layer."""

    name = "dense-lrnn"
    arch = "dense-lrnn"
    recurrent_nodes = (LtiState, DiagonalState, AutomatonState, DeltaState)

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, DeltaState):
            _selected(self, node, ctx)
        return super().kind(node, ctx)

    def write(self, module: DenseRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        n = module.d_state
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                for (r, q), row in transition_rows(node, ctx).items():
                    write_row(module.to_a.weight, module.to_a.bias, (start + r) * n + start + q, row, layout)
                for i, row in enumerate(input_rows(node, ctx)):
                    write_row(module.to_b.weight, module.to_b.bias, start + i, row, layout)
                    module.out.weight[layout.index((node, i)), start + i] = 1.0
                init = initial_state(node)
                module.h0[start:start + node.dim] = torch.tensor([float(v) for v in init], dtype=torch.float64)
                start += node.dim

"""Dense input-dependent linear RNN (``models.dense``): ``h_t = A(x_t) h_{t-1} + b(x_t)`` with A affine in
the stream. One layer holds, block-diagonally, LTI states (constant A), diagonal states (A = diag(a_t))
and automata (A = sum_a x_t[a] M_a, the 0/1 transition matrices). Products go to the MLP in
LSRL's Boolean-gated ReLU form, as in the LTI backend; delta states are not expressible."""
from __future__ import annotations

from fractions import Fraction

import torch

from lsrl.compiler.backends import Context, Layout, write_row
from lsrl.compiler.backends.lti import LtiBackend, lti_input_rows
from lsrl.compiler.fuse import Row, combine
from lsrl.graph import AutomatonState, DiagonalState, LtiState, Node
from models.dense import DenseRecurrence


def _transition_rows(node: Node, ctx: Context) -> dict[tuple[int, int], Row]:
    """A(x)[r, q] as rows over the stream, for the node's own block."""
    if isinstance(node, LtiState):
        return {(r, q): Row({}, v) for r, row in enumerate(node.a) for q, v in enumerate(row) if v != 0}
    if isinstance(node, DiagonalState):
        return {(i, i): ctx.forms[node.a][i] for i in range(node.dim)}
    m, x = node.transition_matrices(), ctx.forms[node.x]
    return {(r, q): combine((Fraction(int(m[a, r, q])), x[a]) for a in range(m.shape[0]))
            for r in range(node.dim) for q in range(node.dim) if m[:, r, q].any()}


def _input_rows(node: Node, ctx: Context) -> list[Row]:
    if isinstance(node, LtiState):
        return lti_input_rows(node, ctx)
    if isinstance(node, DiagonalState):
        return list(ctx.forms[node.b])
    return [Row()] * node.dim


class DenseBackend(LtiBackend):
    """The LTI backend's placement (ReLUs and Boolean-gated products in the MLP) with input-dependent
    recurrences: diagonal and automaton states join the LTI states in a layer."""

    name = "dense-lrnn"
    arch = "dense-lrnn"
    recurrent_nodes = (LtiState, DiagonalState, AutomatonState)

    def write(self, module: DenseRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        n = module.d_state
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                for (r, q), row in _transition_rows(node, ctx).items():
                    write_row(module.to_a.weight, module.to_a.bias, (start + r) * n + start + q, row, layout)
                for i, row in enumerate(_input_rows(node, ctx)):
                    write_row(module.to_b.weight, module.to_b.bias, start + i, row, layout)
                    module.out.weight[layout.index((node, i)), start + i] = 1.0
                init = node.init() if isinstance(node, AutomatonState) else node.init
                module.h0[start:start + node.dim] = torch.tensor([float(v) for v in init])
                start += node.dim

"""LSRL's own target (Petrov et al. 2024): LTI recurrences ``h_t = A h_{t-1} + B x_t`` and ReLU MLPs.
A layer's recurrence holds its LTI states block-diagonally; ReLUs and Boolean-gated products (ReLU
form of f_ifelse) go to the MLP; input-dependent transitions are not expressible."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from lsrl.compiler.backends import Context, Hidden, Layout, boolean_product_units, relu_units, unsupported, write_row
from lsrl.compiler.fuse import combine
from lsrl.compiler.schedule import Kind
from lsrl.lang.graph import LtiState, Multiply, Node, Relu
from models.config import LayerConfig
from models.lti import LtiRecurrence


def lti_input_rows(node: LtiState, ctx: Context, b: object = None) -> list:
    """The rows of ``B x`` (or of ``b x`` for another matrix b) over the stream."""
    b = node.b if b is None else b
    x = ctx.forms[node.x]
    return [combine(zip(b_row, x)) for b_row in b]


class LtiBackend:
    name = "lti"
    arch = "lti"
    recurrent_nodes: tuple[type[Node], ...] = (LtiState,)  # the state nodes a layer's recurrence holds

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, self.recurrent_nodes):
            return "recurrence"
        if isinstance(node, Relu):
            return "mlp"
        if isinstance(node, Multiply):
            boolean_product_units(self, node, ctx)  # refuses if not exact
            return "mlp"
        raise unsupported(self, node, ctx)

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]:
        return relu_units(node, ctx) if isinstance(node, Relu) else boolean_product_units(self, node, ctx)

    def channels(self, node: Node, ctx: Context) -> int:
        return node.dim

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        return LayerConfig(d_state=sum(self.channels(n, ctx) for n in nodes), mlp_hidden=mlp_hidden)

    def write(self, module: LtiRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                n = node.dim
                block = slice(start, start + n)
                module.transition[block, block] = torch.tensor([[float(v) for v in r] for r in node.a], dtype=torch.float64)
                module.h0[block] = torch.tensor([float(v) for v in node.init], dtype=torch.float64)
                for i, row in enumerate(lti_input_rows(node, ctx)):
                    write_row(module.inp.weight, module.inp.bias, start + i, row, layout)
                    module.out.weight[layout.index((node, i)), start + i] = 1.0
                start += n
        assert start == module.d_state, (start, module.d_state)


__all__ = ["LtiBackend", "lti_input_rows"]

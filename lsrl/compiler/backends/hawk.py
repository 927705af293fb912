"""Hawk (``models.rglru``): RG-LRU layers with saturated gates and a temporal convolution, and ReLU MLPs: Boolean
products and delay lines of at most 4 steps, no accumulator. Why: docs/compiler.md#why-the-gated-backends-are-exact
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch

from lsrl.compiler.backends import Context, Hidden, Layout, refuse, relu_units, unsupported, write_row
from lsrl.compiler.fuse import Row
from lsrl.compiler.schedule import Kind
from lsrl.lang.graph import LtiState, Multiply, Node, Relu
from models.config import LayerConfig
from models.rglru import CONV_WIDTH, RGLRURecurrence

SATURATE = 1024.0  # sigmoid(+-1024) is exactly 1 / 0 in float32 and float64
GATE = 1024.0  # GeLU(1024) = 1024 exactly; the output weights divide it out (a power of two)


def _power(a: list[list[Fraction]], b: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum((a[i][k] * b[k][j] for k in range(len(b))), Fraction(0)) for j in range(len(b[0]))]
            for i in range(len(a))]


def conv_taps(node: LtiState) -> list[list[list[Fraction]]] | None:
    """[A^k B for k < CONV_WIDTH] when A^CONV_WIDTH = 0 and the initial state is 0, else None."""
    a = [list(r) for r in node.a]
    taps, term = [], [list(r) for r in node.b]
    for _ in range(CONV_WIDTH):
        taps.append(term)
        term = _power(a, term)
    power = a
    for _ in range(CONV_WIDTH - 1):
        power = _power(power, a)
    if any(v for r in power for v in r) or any(node.init):
        return None
    return taps


def _lti_channels(node: LtiState) -> list[tuple[int, int, list[Fraction]]]:
    """(component i, input component m, taps) for every pair with a nonzero tap."""
    taps = conv_taps(node)
    pairs = [(i, m, [t[i][m] for t in taps]) for i in range(node.dim) for m in range(len(node.b[0]))]
    return [p for p in pairs if any(p[2])]


class HawkBackend:
    name = "hawk"
    arch = "hawk"

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, Relu):
            return "mlp"
        if isinstance(node, Multiply):
            self._conditions(node, ctx)
            return "recurrence"
        if isinstance(node, LtiState):
            if conv_taps(node) is None:
                raise refuse(self, node, ctx, (
                    f"an exact RG-LRU channel has a_t in {{0, 1}} (a_t = 1 cuts the input to zero through "
                    f"sqrt(1 - a_t^2), a_t < 1 decays and scales by an irrational), so only the temporal "
                    f"convolution remembers: an lti state needs A^{CONV_WIDTH} = 0 (a delay line of at most "
                    f"{CONV_WIDTH} steps) and a zero initial state; counters and rotations are not exact"))
            return "recurrence"
        raise unsupported(self, node, ctx)

    def _conditions(self, node: Multiply, ctx: Context) -> list[tuple[Row, Row]]:
        """Per component: (condition c proven Boolean, gated value t); refuses other products."""
        pairs = []
        for i, (x, y) in enumerate(zip(ctx.ranges.node(node.x), ctx.ranges.node(node.y))):
            rows = ctx.forms[node.x][i], ctx.forms[node.y][i]
            if x.is_boolean():
                pairs.append(rows)
            elif y.is_boolean():
                pairs.append(rows[::-1])
            else:
                raise refuse(self, node, ctx, (
                    f"component {i} has factors in {x} and {y}: the RG-LRU's only product is its sigmoid input "
                    "gate, exact only saturated at 0 or 1, so one factor must be proven Boolean"))
        return pairs

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]:
        return relu_units(node, ctx)

    def channels(self, node: Node, ctx: Context) -> int:
        return 2 * node.dim if isinstance(node, Multiply) else len(_lti_channels(node))

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        return LayerConfig(d_state=sum(self.channels(n, ctx) for n in nodes), mlp_hidden=mlp_hidden)

    def write(self, module: RGLRURecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            module.lam.fill_(-SATURATE)  # a = 0: a_t = 0^(8 r_t)
            module.to_r.bias.fill_(SATURATE)  # r_t = 1: a_t = 0, sqrt(1 - a_t^2) = 1
            module.to_i.bias.fill_(SATURATE)  # i_t = 1 unless a channel is gated
            module.to_gate.bias.fill_(GATE)
            start = 0
            for node in nodes:
                start = self._write_node(module, node, start, layout, ctx)

    def _write_node(self, m: RGLRURecurrence, node: Node, start: int, layout: Layout, ctx: Context) -> int:
        if isinstance(node, Multiply):
            for i, (c, t) in enumerate(self._conditions(node, ctx)):
                value, condition = start + 2 * i, start + 2 * i + 1
                for channel, row in ((value, t), (condition, c)):
                    write_row(m.to_u.weight, m.to_u.bias, channel, row, layout)
                    m.conv[channel, 0] = 1.0
                m.to_i.weight[value, condition] = 2 * SATURATE
                m.to_i.bias[value] = -SATURATE
                m.out.weight[layout.index((node, i)), value] = 1 / GATE
            return start + 2 * node.dim
        x = ctx.forms[node.x]
        for j, (i, mm, taps) in enumerate(_lti_channels(node)):
            write_row(m.to_u.weight, m.to_u.bias, start + j, x[mm], layout)
            m.conv[start + j] = torch.tensor([float(v) for v in taps], dtype=torch.float64)
            m.out.weight[layout.index((node, i)), start + j] = 1 / GATE
        return start + len(_lti_channels(node))

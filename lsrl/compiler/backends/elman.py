"""Elman RNNs (``models.elman``, ``h = sigma(W h + U x + c)``) as program backends: states as signed ReLU parts
(elman), the threshold units of lstm held as tanh signs (elman-tanh). Why exact: docs/compiler.md#backends---arch
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch

from lsrl.compiler.backends import Context, Layout, ReluMlpBackend, refuse, unsupported, write_row
from lsrl.compiler.backends.gru import TANH
from lsrl.compiler.backends.lstm import ThresholdBackend, Units
from lsrl.compiler.backends.lti import lti_input_rows
from lsrl.compiler.fuse import Row, combine
from lsrl.compiler.ranges import Interval
from lsrl.lang.graph import DiagonalState, LtiState, Node
from models.config import LayerConfig
from models.elman import ElmanRecurrence


@dataclass(frozen=True)
class ReluUnit:
    """``relu(row + sum(coef * previous unit))`` from ``init``; ``interval`` holds its values."""

    row: Row
    reads: dict[int, Fraction]
    init: Fraction
    interval: Interval


@dataclass(frozen=True)
class ReluUnits:
    """A recurrent atom as ReLU units (indices local to the atom); component i = sum(coef * unit)."""

    units: list[ReluUnit]
    outputs: list[dict[int, Fraction]]


def _signs(interval: Interval) -> list[Fraction]:
    """The parts a value needs: positive unless it is <= 0 and not 0, negative unless it is >= 0."""
    if interval.lo >= 0:
        return [Fraction(1)]
    return [Fraction(-1)] if interval.hi <= 0 else [Fraction(1), Fraction(-1)]


def _negated(reads: dict[int, Fraction]) -> dict[int, Fraction]:
    return {j: -c for j, c in reads.items()}


def _lti_units(node: LtiState, ctx: Context) -> ReluUnits:
    """Positive and negative parts of every component; component k is read as their signed sum."""
    drive = lti_input_rows(node, ctx)
    ranges = [r.join(Interval.point(v)) for r, v in zip(ctx.ranges.node(node), node.init)]
    outputs: list[dict[int, Fraction]] = []
    for interval in ranges:
        first = sum(len(o) for o in outputs)
        outputs.append({first + j: sign for j, sign in enumerate(_signs(interval))})
    units = []
    for i, interval in enumerate(ranges):
        reads: dict[int, Fraction] = {}
        for k, a in enumerate(node.a[i]):
            for j, sign in outputs[k].items():
                reads[j] = reads.get(j, Fraction(0)) + a * sign
        for sign in _signs(interval):
            units.append(ReluUnit(combine([(sign, drive[i])]), {j: sign * c for j, c in reads.items()},
                                  max(sign * node.init[i], Fraction(0)), interval.scaled(sign).relu()))
    return ReluUnits(units, outputs)


def _diagonal_units(backend: object, node: DiagonalState, ctx: Context) -> ReluUnits:
    """Per component P - N + (g1 - g0) (Q1 - Q2): P, N the parts of g0 s + b, Q1 - Q2 = c s in ReLU form."""
    units: list[ReluUnit] = []
    outputs: list[dict[int, Fraction]] = []
    gates, drives = ctx.ranges.node(node.a), ctx.ranges.node(node.b)
    for i, (gate, state) in enumerate(zip(gates, ctx.ranges.node(node))):
        state = state.join(Interval.point(node.init[i]))
        two_valued = gate.lattice is not None and gate.bounded and gate.lo < gate.hi <= gate.lo + gate.lattice.step
        if not (two_valued and state.bounded):
            raise refuse(backend, node, ctx, (
                f"component {i}: gate {gate}, state {state}; a ReLU recurrence multiplies its state by an input only "
                "in LSRL's ReLU form, which needs a gate taking two values and a bounded state"))
        g0, g1 = gate.lo, gate.hi
        first = len(units)
        value = {first: Fraction(1), first + 1: Fraction(-1), first + 2: g1 - g0, first + 3: g0 - g1}
        outputs.append(value)
        bound = Fraction(-(-state.magnitude.numerator // state.magnitude.denominator))
        chosen = combine([(1 / (g1 - g0), ctx.forms[node.a][i])], -g0 / (g1 - g0))  # c in {0, 1}
        gated = combine([(bound, chosen)], -bound)
        linear = {j: g0 * c for j, c in value.items()}
        kept = state.scaled(g0).plus(drives[i])
        units += [ReluUnit(ctx.forms[node.b][i], linear, max(node.init[i], Fraction(0)), kept.relu()),
                  ReluUnit(combine([(Fraction(-1), ctx.forms[node.b][i])]), _negated(linear),
                           max(-node.init[i], Fraction(0)), kept.scaled(Fraction(-1)).relu()),
                  ReluUnit(gated, dict(value), Fraction(0), state.relu().join(Interval.point(Fraction(0)))),
                  ReluUnit(gated, _negated(value), Fraction(0),
                           state.scaled(Fraction(-1)).relu().join(Interval.point(Fraction(0))))]
    return ReluUnits(units, outputs)


class ElmanBackend(ReluMlpBackend):
    """ReLU Elman layers: LTI and two-valued-gate diagonal states as signed ReLU units, ReLUs and
    Boolean-gated products in the MLP."""

    name = "elman"
    arch = "elman"

    def units(self, node: Node, ctx: Context) -> ReluUnits:
        if isinstance(node, LtiState):
            return _lti_units(node, ctx)
        if isinstance(node, DiagonalState):
            return _diagonal_units(self, node, ctx)
        raise unsupported(self, node, ctx)

    def recurrent_units(self, node: Node, ctx: Context) -> object:
        return self.units(node, ctx)

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        width = sum(len(self.units(n, ctx).units) for n in nodes)
        return LayerConfig(d_state=max(width, 1), mlp_hidden=mlp_hidden, nonlinearity="relu")

    def write(self, module: ElmanRecurrence, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                units = self.units(node, ctx)
                for j, unit in enumerate(units.units):
                    write_row(module.inp.weight, module.inp.bias, start + j, unit.row, layout)
                    for q, coef in unit.reads.items():
                        module.recurrent.weight[start + j, start + q] = float(coef)
                    module.h0[start + j] = float(unit.init)
                for i, terms in enumerate(units.outputs):
                    for j, coef in terms.items():
                        module.out.weight[layout.index((node, i)), start + j] = float(coef)
                start += len(units.units)


class ElmanTanhBackend(ThresholdBackend):
    """tanh Elman layers: threshold units held as h = 2 u - 1 (see the module docstring)."""

    name = "elman-tanh"
    arch = "elman"

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        return LayerConfig(d_state=max(sum(self.channels(n, ctx) for n in nodes), 1), mlp_hidden=mlp_hidden,
                           nonlinearity="tanh")

    def write_units(self, m: ElmanRecurrence, units: Units, start: int, layout: Layout) -> None:
        for j, unit in enumerate(units.units):
            g = start + j
            m.h0[g] = float(2 * unit.init - 1)
            # 64 (2 f + 1) with f = row + sum(c u_q) and u_q = (h_q + 1) / 2
            write_row(m.inp.weight, m.inp.bias, g, unit.row, layout, Fraction(2 * TANH))
            m.inp.bias[g] += float(TANH + TANH * sum(unit.reads.values(), Fraction(0)))
            for q, coef in unit.reads.items():
                m.recurrent.weight[g, start + q] = float(TANH * coef)

    def write_output(self, m: ElmanRecurrence, index: int, terms: dict[int, Fraction], const: Fraction) -> None:
        for g, coef in terms.items():
            m.out.weight[index, g] = float(coef / 2)
        offset = const + sum(terms.values(), Fraction(0)) / 2
        if offset:  # a ported output projection has a bias only where some output has a constant
            m.out.bias[index] += float(offset)

"""LSTM (``models.gated_rnn``, torch's equations) as an exact threshold network of saturated units in {0, 1}:
Boolean states, thermometer-coded counts, Minsky's pairs. Why exact: docs/compiler.md#why-the-gated-backends-are-exact
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from lsrl.compiler.backends import Context, Layout, ReluMlpBackend, refuse, unsupported, write_row
from lsrl.compiler.fuse import Row, combine
from lsrl.lang.graph import AutomatonState, DiagonalState, LtiState, Node
from models.config import LayerConfig
from models.gated_rnn import LSTMRecurrence

SATURATE = 1024.0  # sigmoid(+-1024) is exactly 1 / 0 in float32 and float64
CELL = 40.0  # tanh(40) = 1 exactly in float32 and float64


@dataclass(frozen=True)
class Unit:
    """A {0, 1} unit: [row + sum(coef * previous unit) >= 0], starting at ``init``."""

    row: Row
    reads: dict[int, Fraction] = field(default_factory=dict)
    init: int = 0


@dataclass(frozen=True)
class Units:
    """A recurrent atom as units (indices local to the atom) and its components as sums of units + const."""

    units: list[Unit]
    outputs: list[tuple[dict[int, Fraction], Fraction]]


def _value(outputs: list[tuple[dict[int, Fraction], Fraction]], q: int, coef: Fraction,
           reads: dict[int, Fraction]) -> Fraction:
    """Add ``coef * component q`` (as units) into ``reads``; returns its constant part."""
    units, const = outputs[q]
    for j, c in units.items():
        reads[j] = reads.get(j, Fraction(0)) + coef * c
    return coef * const


def _lti_units(backend: object, node: LtiState, ctx: Context) -> Units:
    ranges, inputs = ctx.ranges.node(node), [combine(zip(r, ctx.forms[node.x])) for r in node.b]
    plan: list[tuple[str, int]] = []  # (kind, first unit)
    outputs, count = [], 0
    for i, interval in enumerate(ranges):
        counts_itself = all(node.a[i][q] == (1 if q == i else 0) for q in range(node.dim))
        if interval.is_boolean() and node.init[i] in (0, 1):
            plan.append(("bool", count))
            outputs.append(({count: Fraction(1)}, Fraction(0)))
            count += 1
        elif counts_itself and interval.bounded and ctx.ranges.row(inputs[i]).is_boolean() \
                and isinstance(node.init[i], Fraction) and node.init[i].denominator == 1:
            width = int(interval.hi - node.init[i])
            plan.append(("count", count))
            outputs.append(({count + k: Fraction(1) for k in range(width)}, node.init[i]))
            count += width
        else:
            raise refuse(backend, node, ctx, (
                f"component {i} ranges over {interval}: gates saturate, so a state is exact only when it is "
                "proven Boolean, or counts a Boolean signal within a bounded range (give --max-length); a real "
                "value enters and leaves a cell through tanh, which is exact in floats only at saturation "
                "(-1, 0, 1), so no exact threshold construction holds it (LSRL's conversion approximates; the "
                "elman class holds real states exactly)"))
    units = []
    for i, (kind, first) in enumerate(plan):
        if kind == "bool":
            reads: dict[int, Fraction] = {}
            const = sum((_value(outputs, q, node.a[i][q], reads) for q in range(node.dim) if node.a[i][q]),
                        Fraction(0))
            units.append(Unit(combine([(Fraction(1), inputs[i])], const - 1), reads, int(node.init[i])))
            continue
        for k in range(len(outputs[i][0])):  # unit k: count >= c0 + 1 + k
            reads = {first + k: Fraction(2)}
            below = Fraction(-1) if k == 0 else Fraction(-2)
            if k:
                reads[first + k - 1] = Fraction(1)
            units.append(Unit(combine([(Fraction(1), inputs[i])], below), reads, 0))
    return Units(units, outputs)


def _diagonal_units(backend: object, node: DiagonalState, ctx: Context) -> Units:
    gates, drives = ctx.ranges.node(node.a), ctx.ranges.node(node.b)
    units = []
    for i, s in enumerate(ctx.ranges.node(node)):
        if not (s.is_boolean() and gates[i].is_boolean() and drives[i].is_boolean() and node.init[i] in (0, 1)):
            raise refuse(backend, node, ctx, (
                f"component {i}: state {s}, gate {gates[i]}, input {drives[i]}; with saturated gates a diagonal "
                "state is exact only when all three are proven Boolean"))
        row = combine([(Fraction(1), ctx.forms[node.a][i]), (Fraction(2), ctx.forms[node.b][i])], Fraction(-2))
        units.append(Unit(row, {i: Fraction(1)}, int(node.init[i])))
    return Units(units, [({i: Fraction(1)}, Fraction(0)) for i in range(node.dim)])


def _automaton_units(backend: object, node: AutomatonState, ctx: Context) -> Units:
    x = ctx.forms[node.x]
    if not (all(r.is_boolean() for r in ctx.ranges.node(node.x))
            and ctx.ranges.row(combine((Fraction(1), r) for r in x)).within(Fraction(1), Fraction(1))):
        raise refuse(backend, node, ctx, "its symbols are not proven one-hot")
    dfa, k = node.dfa, node.dfa.n_symbols
    start = dfa.n_states * k
    into: dict[int, dict[int, Fraction]] = {q: {} for q in range(dfa.n_states)}
    for q in range(dfa.n_states):
        for a in range(k):
            into[int(dfa.delta[q, a])][q * k + a] = Fraction(1)
    units = []
    for q in range(dfa.n_states):
        previous = dict(into[q]) | ({start: Fraction(1)} if q == dfa.start else {})
        units.extend(Unit(combine([(Fraction(1), x[a])], Fraction(-2)), previous) for a in range(k))
    units.append(Unit(Row({}, Fraction(-1)), {}, 1))
    return Units(units, [(into[q], Fraction(0)) for q in range(dfa.n_states)])


def threshold_units(backend: object, node: Node, ctx: Context) -> Units:
    """The units of a recurrent atom; refuses what saturated gates cannot compute exactly."""
    if isinstance(node, LtiState):
        return _lti_units(backend, node, ctx)
    if isinstance(node, DiagonalState):
        return _diagonal_units(backend, node, ctx)
    if isinstance(node, AutomatonState):
        return _automaton_units(backend, node, ctx)
    raise unsupported(backend, node, ctx)


class ThresholdBackend(ReluMlpBackend):
    """Kinds, MLP units and widths shared by the LSTM and GRU backends; ``write_units`` is per cell."""

    name = arch = ""

    def recurrent_units(self, node: Node, ctx: Context) -> object:
        return threshold_units(self, node, ctx)

    def channels(self, node: Node, ctx: Context) -> int:
        return len(threshold_units(self, node, ctx).units)

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig:
        """At least one unit: ``models.gated_rnn`` cannot build an empty cell (an unused unit stays 0)."""
        return LayerConfig(d_state=max(sum(self.channels(n, ctx) for n in nodes), 1), mlp_hidden=mlp_hidden)

    def write(self, module: torch.nn.Module, nodes: list[Node], layout: Layout, ctx: Context) -> None:
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
            start = 0
            for node in nodes:
                units = threshold_units(self, node, ctx)
                self.write_units(module, units, start, layout)
                for i, (terms, const) in enumerate(units.outputs):
                    self.write_output(module, layout.index((node, i)), {start + j: c for j, c in terms.items()},
                                      const)
                start += len(units.units)

    def write_units(self, module: torch.nn.Module, units: Units, start: int, layout: Layout) -> None: ...

    def write_output(self, module: torch.nn.Module, index: int, terms: dict[int, Fraction], const: Fraction
                     ) -> None: ...


class LstmBackend(ThresholdBackend):
    name = arch = "lstm"

    def write_units(self, m: LSTMRecurrence, units: Units, start: int, layout: Layout) -> None:
        n = m.d_state
        for j, unit in enumerate(units.units):
            g = start + j
            m.bias_ih[g] = -SATURATE  # i = 0
            m.bias_ih[n + g] = SATURATE  # f = 1: the cell keeps CELL
            m.c0[g] = CELL
            m.h0[g] = float(unit.init)
            write_row(m.weight_ih, m.bias_ih, 3 * n + g, unit.row, layout, Fraction(2 * int(SATURATE)))
            m.bias_ih[3 * n + g] += SATURATE
            for q, coef in unit.reads.items():
                m.weight_hh[3 * n + g, start + q] = float(2 * SATURATE * coef)

    def write_output(self, m: LSTMRecurrence, index: int, terms: dict[int, Fraction], const: Fraction) -> None:
        for g, coef in terms.items():
            m.out.weight[index, g] = float(coef)
        if const:  # a ported output projection has a bias only where some output has a constant
            m.out.bias[index] += float(const)

"""Backends: how a layer of each architecture class realises the atoms scheduled into it (docs/compiler.md)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import torch
from torch import nn

from lsrl.compiler.errors import ConstructNotExpressible
from lsrl.compiler.fuse import Form, Row, combine
from lsrl.compiler.ranges import Ranges
from lsrl.compiler.schedule import Kind
from lsrl.lang.graph import (
    AutomatonState,
    CheckedProgram,
    DeltaState,
    DiagonalState,
    Input,
    LtiState,
    Multiply,
    Node,
    Relu,
)
from models import registry
from models.config import LayerConfig


@dataclass(frozen=True)
class Context:
    """What backends read: the program, the fused forms, the ranges and the stream layout."""

    program: CheckedProgram
    forms: Mapping[Node, Form]
    ranges: Ranges

    def describe(self, node: Node) -> str:
        """A construct as a user wrote it: its kind and the name it was bound to, if any."""
        kind = {Multiply: "the product", LtiState: "the lti state", DiagonalState: "the diagonal state",
                DeltaState: "the delta state", AutomatonState: "the automaton state", Relu: "relu"}[type(node)]
        label = self.program.labels.get(node)
        return f"{kind} {label!r}" if label else kind


@dataclass(frozen=True)
class Hidden:
    """One MLP unit: ``component`` of its atom receives ``coef * relu(row)``."""

    row: Row
    component: int
    coef: Fraction = Fraction(1)


class Layout(Protocol):
    def index(self, atom: tuple[Node, int]) -> int: ...


__all__ = ["BACKENDS", "Backend", "Context", "Hidden", "Layout", "ReluMlpBackend", "backend", "boolean_product_units",
           "refuse", "relu_units", "unsupported", "write_row"]


class Backend(Protocol):
    """One class's layer: which atoms its recurrence computes and which its MLP computes (``kind``; anything it
    cannot realise exactly raises ``ConstructNotExpressible`` there), the ReLU units of the MLP atoms
    (``hidden``), the configuration of a layer holding given recurrent atoms (``layer``), and the recurrence's
    weights (``write``). The lowering (``lsrl.compiler.lower``) is shared by all backends."""

    name: str
    arch: str

    def kind(self, node: Node, ctx: Context) -> Kind: ...

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]: ...

    def layer(self, nodes: Sequence[Node], ctx: Context, mlp_hidden: int) -> LayerConfig: ...

    def write(self, module: nn.Module, nodes: list[Node], layout: Layout, ctx: Context) -> None: ...


def refuse(backend: Backend, node: Node, ctx: Context, reason: str) -> ConstructNotExpressible:
    """The refusal of ``node``, located in the source with the macro calls that built it."""
    error = ConstructNotExpressible(backend.name, ctx.describe(node), reason, node.loc)
    for note in ctx.program.chains.get(node.id, ()):
        error.add_context(note)
    return error


def relu_units(node: Relu, ctx: Context) -> list[Hidden]:
    """A ReLU atom: one unit per component."""
    return [Hidden(row, i) for i, row in enumerate(ctx.forms[node.x])]


def boolean_product_units(backend: Backend, node: Multiply, ctx: Context) -> list[Hidden]:
    """``c * t`` with ReLUs only, where c is proven Boolean and |t| <= L (LSRL's f_ifelse, Petrov et al.
    2024, Sec. 3): ``relu(t - L (1 - c)) - relu(-t - L (1 - c))``, exact for c in {0, 1}."""
    units = []
    for i, (x, y) in enumerate(zip(ctx.ranges.node(node.x), ctx.ranges.node(node.y))):
        rows = ctx.forms[node.x][i], ctx.forms[node.y][i]
        if x.is_boolean() and y.bounded:
            (c, t), bound = rows, y.magnitude
        elif y.is_boolean() and x.bounded:
            (t, c), bound = rows, x.magnitude
        else:
            raise refuse(backend, node, ctx, (
                f"component {i} has factors in {x} and {y}: without multiplicative gates a product is exact only "
                "when one factor is proven Boolean (0 or 1) and the other bounded; give input ranges and a "
                "maximum length that prove it, or compile for an architecture with gating (mamba)"))
        bound = Fraction(-(-bound.numerator // bound.denominator))  # an integer L >= |t|
        units.append(Hidden(combine([(Fraction(1), t), (bound, c)], -bound), i, Fraction(1)))
        units.append(Hidden(combine([(Fraction(-1), t), (bound, c)], -bound), i, Fraction(-1)))
    return units


class ReluMlpBackend:
    """``kind`` and ``hidden`` of the backends whose position-wise MLP holds ReLUs and Boolean products
    (elman, rotation, the threshold cells); ``recurrent_units(node, ctx)`` checks (or refuses) a state atom."""

    name = arch = ""

    def recurrent_units(self, node: Node, ctx: Context) -> object:
        raise NotImplementedError

    def kind(self, node: Node, ctx: Context) -> Kind:
        if isinstance(node, Relu):
            return "mlp"
        if isinstance(node, Multiply):
            boolean_product_units(self, node, ctx)
            return "mlp"
        self.recurrent_units(node, ctx)
        return "recurrence"

    def hidden(self, node: Node, ctx: Context) -> list[Hidden]:
        return relu_units(node, ctx) if isinstance(node, Relu) else boolean_product_units(self, node, ctx)


def write_row(weight: torch.Tensor, bias: torch.Tensor | None, index: int, row: Row, layout: Layout,
              scale: Fraction = Fraction(1)) -> None:
    """Add ``scale * row`` into output ``index`` of a linear map reading the stream."""
    for atom, coef in row.terms.items():
        weight[index, layout.index(atom)] += float(scale * coef)
    if bias is not None:
        bias[index] += float(scale * row.const)


def backend(name: str) -> Backend:
    """The backend of an architecture class with a program path (any name or alias of ``models.registry``)."""
    from lsrl.compiler.backends import deltaproduct, dense, elman, gru, hawk, lstm, lti, mamba, rotation

    arch = registry.require(name, "program")
    if arch.family == "deltaproduct":
        return deltaproduct.DeltaProductBackend(arch)
    table = {"lti": lti.LtiBackend, "diag-01": lambda: mamba.MambaBackend(negative=False),
             "diag-neg": lambda: mamba.MambaBackend(negative=True), "dense-lrnn": dense.DenseBackend,
             "rotation": rotation.RotationBackend, "hawk": hawk.HawkBackend, "lstm": lstm.LstmBackend,
             "gru": gru.GruBackend, "elman": elman.ElmanBackend, "elman-tanh": elman.ElmanTanhBackend}
    return table[arch.name]()


BACKENDS = tuple(arch.name for arch in registry.with_path("program"))


def unsupported(backend: Backend, node: Node, ctx: Context) -> ConstructNotExpressible:
    """The refusal for constructs a backend has no layer for at all."""
    reasons = {
        DeltaState: "its transition I - beta k k^T is quadratic in the input; it needs a DeltaProduct layer",
        AutomatonState: "its transition matrix depends on the input symbol; it needs input-dependent dense "
                        "transitions (dense-lrnn) or an automaton construction",
        DiagonalState: "its gate depends on the input; this architecture's transitions are input-independent",
        Input: "inputs are embedded, not computed",
    }
    return refuse(backend, node, ctx, reasons.get(type(node), "no layer of this architecture computes it"))

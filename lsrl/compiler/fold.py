"""Constant folding on the checked graph, ``CheckedProgram`` to ``CheckedProgram`` with the same semantics and node ids:
what each rewrite does is in docs/compiler.md#passes-one-module-each-under-lsrlcompiler."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from lsrl.lang.graph import (
    Affine,
    CheckedProgram,
    Concat,
    DiagonalState,
    LtiState,
    Multiply,
    Node,
    Relu,
    Slice,
    Term,
    freeze_matrix,
    freeze_vector,
    matrix,
    vector,
)


def constant_value(node: Node) -> np.ndarray | None:
    """The constant value of an ``Affine`` without terms, else None."""
    if isinstance(node, Affine) and not node.terms:
        return vector(node.bias)
    return None


def _constant(node: Node, value: np.ndarray) -> Affine:
    return Affine(id=node.id, dim=node.dim, loc=node.loc, terms=(), bias=freeze_vector(value))


def _affine(node: Affine) -> Affine:
    """Merge terms on the same node, fold constant terms into the bias, drop zero weights."""
    weights: dict[Node, np.ndarray] = {}
    bias = vector(node.bias)
    for term in node.terms:
        w = matrix(term.weight)
        value = constant_value(term.node)
        if value is not None:
            bias = bias + w.dot(value)
        else:
            weights[term.node] = weights[term.node] + w if term.node in weights else w
    terms = tuple(Term(x, freeze_matrix(w)) for x, w in weights.items() if any(v != 0 for v in w.reshape(-1)))
    return Affine(id=node.id, dim=node.dim, loc=node.loc, terms=terms, bias=freeze_vector(bias))


def _scaling(node: Multiply, signal: Node, factor: np.ndarray) -> Affine:
    return _affine(Affine(id=node.id, dim=node.dim, loc=node.loc,
                          terms=(Term(signal, freeze_matrix(np.diag(factor))),), bias=(Fraction(0),) * node.dim))


def _fold(node: Node) -> Node:
    """The folded form of one node whose inputs are already folded."""
    if isinstance(node, Affine):
        return _affine(node)
    values = [constant_value(x) for x in node.inputs()]
    if isinstance(node, Relu) and values[0] is not None:
        return _constant(node, np.array([max(v, Fraction(0)) for v in values[0]], dtype=object))
    if isinstance(node, Concat) and all(v is not None for v in values):
        return _constant(node, np.concatenate(values))
    if isinstance(node, Slice) and values[0] is not None:
        return _constant(node, values[0][node.start:node.stop])
    if isinstance(node, Multiply):
        x, y = values
        if x is not None and y is not None:
            return _constant(node, x * y)
        if x is not None or y is not None:
            return _scaling(node, node.y if x is not None else node.x, x if x is not None else y)
    if isinstance(node, DiagonalState) and values[0] is not None:
        return LtiState(id=node.id, dim=node.dim, loc=node.loc, x=node.b, a=freeze_matrix(np.diag(values[0])),
                        b=freeze_matrix(np.eye(node.dim, dtype=np.int64)), init=node.init)
    return node


def fold(program: CheckedProgram) -> CheckedProgram:
    """The program with constants folded, nodes rebuilt over their folded inputs in the same order."""
    new: dict[Node, Node] = {}
    for node in program.nodes:
        fields = {f.name: getattr(node, f.name) for f in dataclasses.fields(node)}
        replaced = {name: remap(value, new) for name, value in fields.items() if name not in ("id", "dim", "loc")}
        new[node] = _fold(dataclasses.replace(node, **replaced) if replaced else node)
    return dataclasses.replace(program, inputs=tuple(new[i] for i in program.inputs),
                               outputs=tuple((n, new[x]) for n, x in program.outputs),
                               nodes=tuple(new[x] for x in program.nodes),
                               labels={new[x]: label for x, label in program.labels.items()})


def remap(value: object, new: dict[Node, Node]) -> object:
    """A field with every node (also inside terms and tuples of parts) replaced by its folded version."""
    if isinstance(value, Node):
        return new[value]
    if isinstance(value, Term):
        return Term(new[value.node], value.weight)
    if isinstance(value, tuple) and value and isinstance(value[0], (Node, Term)):
        return tuple(remap(v, new) for v in value)
    return value

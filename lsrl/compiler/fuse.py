"""Affine fusion: every node's value as an affine form over *atoms* (inputs, ReLUs, products, states), so that ``Affine``,
``Concat`` and ``Slice`` are never materialised (docs/compiler.md#passes-one-module-each-under-lsrlcompiler)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from lsrl.lang.graph import Affine, CheckedProgram, Concat, Node, Slice

Atom = tuple[Node, int]


@dataclass(frozen=True, eq=False)
class Row:
    """``const + sum(coef * atom)``: one component of a node as a function of the atoms."""

    terms: Mapping[Atom, Fraction] = field(default_factory=dict)
    const: Fraction = Fraction(0)

    def is_constant(self) -> bool:
        return not self.terms


Form = tuple[Row, ...]


def combine(parts: Iterable[tuple[Fraction, Row]], const: Fraction = Fraction(0)) -> Row:
    """``const + sum(weight * row)``, zero coefficients dropped."""
    terms: dict[Atom, Fraction] = {}
    for weight, row in parts:
        if weight == 0:
            continue
        const += weight * row.const
        for atom, coef in row.terms.items():
            terms[atom] = terms.get(atom, Fraction(0)) + weight * coef
    return Row({a: c for a, c in terms.items() if c != 0}, const)


def is_atom(node: Node) -> bool:
    return not isinstance(node, (Affine, Concat, Slice))


def atom_form(node: Node) -> Form:
    return tuple(Row({(node, i): Fraction(1)}) for i in range(node.dim))


def fuse(program: CheckedProgram) -> dict[Node, Form]:
    """The affine form of every node of the program, in topological order."""
    forms: dict[Node, Form] = {}
    for node in program.nodes:
        if isinstance(node, Affine):
            forms[node] = tuple(
                combine(((w, forms[t.node][j]) for t in node.terms for j, w in enumerate(t.weight[r])), node.bias[r])
                for r in range(node.dim))
        elif isinstance(node, Concat):
            forms[node] = tuple(row for part in node.parts for row in forms[part])
        elif isinstance(node, Slice):
            forms[node] = forms[node.x][node.start:node.stop]
        else:
            forms[node] = atom_form(node)
    return forms


def atoms_of(rows: Iterable[Row]) -> set[Node]:
    """The nodes whose components the rows read."""
    return {atom[0] for row in rows for atom in row.terms}

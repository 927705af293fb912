"""Scheduling: the phase of every atom in the layer stack, as soon as its operands are ready, so that independent branches
share layers (docs/compiler.md#scheduling-and-layout)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from lsrl.compiler.fuse import Form, atoms_of
from lsrl.lang.graph import CheckedProgram, Input, Node

Kind = Literal["recurrence", "mlp"]


def reads(node: Node, forms: Mapping[Node, Form]) -> set[Node]:
    """The atoms whose components ``node`` reads, through the affine forms of its operands."""
    return atoms_of(row for x in node.inputs() for row in forms[x])


def schedule(program: CheckedProgram, forms: Mapping[Node, Form], kinds: Mapping[Node, Kind]) -> dict[Node, int]:
    """The phase of every input (0) and every atom in ``kinds``."""
    phase: dict[Node, int] = {}
    for node in program.nodes:
        if isinstance(node, Input):
            phase[node] = 0
        elif node in kinds:
            p = max((phase[a] for a in reads(node, forms)), default=0) + 1
            if (p % 2 == 1) != (kinds[node] == "recurrence"):
                p += 1
            phase[node] = p
    return phase


def block_of(phase: int) -> int:
    """The block (from 0) whose recurrence (odd) or MLP (even) runs at ``phase``."""
    return (phase - 1) // 2

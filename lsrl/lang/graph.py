"""The checked program: a DAG of primitive nodes with exact rational weights, typed by dimension; what each node computes:
docs/language.md#inside-the-checker-and-the-interpreter."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from lsrl.lang.errors import Location, LsrlValueError
from proofs.cyclotomic import Algebraic

if TYPE_CHECKING:
    from automata.dfa import DFA

Vector = tuple[Fraction, ...]  # entries may also be Algebraic (irrational constants)
Matrix = tuple[Vector, ...]

MAX_NODES = 200_000


def exact(v: object) -> Fraction | Algebraic:
    """An exact real: ``Algebraic`` values (irrational constants) as they are, anything else as a ``Fraction``."""
    return v if isinstance(v, Algebraic) else Fraction(v)


def freeze_vector(array: np.ndarray) -> Vector:
    return tuple(exact(v) for v in np.asarray(array, dtype=object).reshape(-1))


def freeze_matrix(array: np.ndarray) -> Matrix:
    return tuple(freeze_vector(row) for row in np.asarray(array, dtype=object))


def vector(values: Vector) -> np.ndarray:
    """An ``object`` array of the exact entries."""
    return np.array(values, dtype=object).reshape(len(values))


def matrix(rows: Matrix) -> np.ndarray:
    return np.array(rows, dtype=object).reshape(len(rows), len(rows[0]) if rows else 0)


@dataclass(frozen=True, eq=False, kw_only=True)
class Node:
    """A primitive whose value is a ``dim``-vector at every step; ``id`` orders nodes topologically."""

    id: int
    dim: int
    loc: Location | None

    def inputs(self) -> tuple[Node, ...]:
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}#{self.id}[{self.dim}]"


@dataclass(frozen=True, eq=False, kw_only=True)
class Input(Node):
    """A declared input; ``alphabet`` is set when the input is the one-hot of a symbol."""

    name: str
    alphabet: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Term:
    """One summand ``W x`` of an ``Affine`` node."""

    node: Node
    weight: Matrix


@dataclass(frozen=True, eq=False, kw_only=True)
class Affine(Node):
    terms: tuple[Term, ...]
    bias: Vector

    def inputs(self) -> tuple[Node, ...]:
        return tuple(t.node for t in self.terms)


@dataclass(frozen=True, eq=False, kw_only=True)
class Relu(Node):
    x: Node

    def inputs(self) -> tuple[Node, ...]:
        return (self.x,)


@dataclass(frozen=True, eq=False, kw_only=True)
class Multiply(Node):
    x: Node
    y: Node

    def inputs(self) -> tuple[Node, ...]:
        return (self.x, self.y)


@dataclass(frozen=True, eq=False, kw_only=True)
class Concat(Node):
    parts: tuple[Node, ...]

    def inputs(self) -> tuple[Node, ...]:
        return self.parts


@dataclass(frozen=True, eq=False, kw_only=True)
class Slice(Node):
    """Components ``start .. stop-1`` of ``x``."""

    x: Node
    start: int
    stop: int

    def inputs(self) -> tuple[Node, ...]:
        return (self.x,)


@dataclass(frozen=True, eq=False, kw_only=True)
class LtiState(Node):
    x: Node
    a: Matrix
    b: Matrix
    init: Vector

    def inputs(self) -> tuple[Node, ...]:
        return (self.x,)


@dataclass(frozen=True, eq=False, kw_only=True)
class DiagonalState(Node):
    a: Node
    b: Node
    init: Vector

    def inputs(self) -> tuple[Node, ...]:
        return (self.a, self.b)


@dataclass(frozen=True, eq=False, kw_only=True)
class DeltaState(Node):
    """Keys ``k`` (factors*key_dim), values ``v`` (factors*value_dim), rates ``beta`` (factors)."""

    k: Node
    v: Node
    beta: Node
    init: Matrix
    factors: int
    key_dim: int
    value_dim: int

    def inputs(self) -> tuple[Node, ...]:
        return (self.k, self.v, self.beta)


@dataclass(frozen=True, eq=False, kw_only=True)
class AutomatonState(Node):
    """A DFA run on the (one-hot) symbols ``x``; ``source`` says where the DFA came from."""

    x: Node
    dfa: DFA
    source: str

    def inputs(self) -> tuple[Node, ...]:
        return (self.x,)

    def transition_matrices(self) -> np.ndarray:
        """``M[a, r, q] = 1`` iff the DFA goes from q to r on symbol a (column-stochastic)."""
        n, k = self.dfa.n_states, self.dfa.n_symbols
        m = np.zeros((k, n, n), dtype=np.int64)
        q, a = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
        m[a.ravel(), self.dfa.delta.ravel(), q.ravel()] = 1
        return m

    def init(self) -> Vector:
        return tuple(Fraction(int(q == self.dfa.start)) for q in range(self.dfa.n_states))


@dataclass(frozen=True)
class CheckedProgram:
    """A checked program: its inputs and named outputs over a topologically ordered node list.

    ``nodes`` holds every node an output depends on, and every input; ``labels`` maps nodes bound
    by ``let``/``output`` to their names (macro locals as ``macro.name``), for messages and compilers;
    ``chains`` the macro calls a node was expanded in (``in f(...) called at FILE:LINE:COL``), for messages.
    """

    inputs: tuple[Input, ...]
    outputs: tuple[tuple[str, Node], ...]
    nodes: tuple[Node, ...]
    labels: Mapping[Node, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    chains: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # node id -> its macro calls, innermost first

    def output(self, name: str) -> Node:
        return dict(self.outputs)[name]

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)

    def summary(self) -> str:
        """Inputs, outputs and node counts by kind, for ``lsrl check``."""
        kinds: dict[str, int] = {}
        for node in self.nodes:
            kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
        inputs = ", ".join(f"{i.name}: {i.dim}" + (f" (one-hot of {len(i.alphabet)} symbols)" if i.alphabet else "")
                           for i in self.inputs)
        outputs = ", ".join(f"{name}: {node.dim}" for name, node in self.outputs)
        counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        return f"inputs {inputs}\noutputs {outputs}\n{len(self.nodes)} nodes: {counts}"

    def dump(self) -> str:
        """One line per node: id, kind, dimension, inputs and label."""
        lines = []
        for node in self.nodes:
            args = ", ".join(f"#{n.id}" for n in node.inputs())
            label = f"  # {self.labels[node]}" if node in self.labels else ""
            lines.append(f"#{node.id} = {type(node).__name__}[{node.dim}]({args}){label}")
        lines.extend(f"output {name} = #{node.id}" for name, node in self.outputs)
        return "\n".join(lines)


class GraphBuilder:
    """Creates nodes with fresh ids and records them in creation (hence topological) order."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.labels: dict[Node, str] = {}
        self.calls: list[str] = []  # the macro calls being expanded, outermost first
        self.chains: dict[int, tuple[str, ...]] = {}

    def add(self, kind: type[Node], dim: int, loc: Location | None, **fields: object) -> Node:
        if len(self.nodes) >= MAX_NODES:
            raise LsrlValueError(f"the program expands to more than {MAX_NODES} nodes", loc)
        node = kind(id=len(self.nodes), dim=dim, loc=loc, **fields)
        self.nodes.append(node)
        if self.calls:
            self.chains[node.id] = tuple(reversed(self.calls))
        return node

    def label(self, node: Node, name: str) -> None:
        """Name a node after its first binding."""
        self.labels.setdefault(node, name)

    def finish(self, inputs: tuple[Input, ...], outputs: tuple[tuple[str, Node], ...],
               files: tuple[str, ...]) -> CheckedProgram:
        """Keep the nodes the outputs depend on (and all inputs), in creation order."""
        live: set[int] = {n.id for n in inputs}
        stack = [node for _, node in outputs]
        while stack:
            node = stack.pop()
            if node.id not in live:
                live.add(node.id)
                stack.extend(node.inputs())
        nodes = tuple(n for n in self.nodes if n.id in live)
        labels = {n: name for n, name in self.labels.items() if n.id in live}
        chains = {i: chain for i, chain in self.chains.items() if i in live}
        return CheckedProgram(inputs, outputs, nodes, labels, files, chains)

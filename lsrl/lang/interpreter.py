"""The reference semantics of a checked program: every node's value at every step, in exact rationals or float64 on one
code path (docs/language.md#inside-the-checker-and-the-interpreter)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

import numpy as np

from lsrl.lang.errors import InputValueError
from lsrl.lang.graph import (
    Affine,
    AutomatonState,
    CheckedProgram,
    Concat,
    DeltaState,
    DiagonalState,
    Input,
    LtiState,
    Multiply,
    Node,
    Relu,
    Slice,
    matrix,
    vector,
)

Inputs = Mapping[str, object] | np.ndarray | list


def interpret(program: CheckedProgram, inputs: Inputs, exact: bool = True) -> dict[str, np.ndarray]:
    """The outputs at every step, by name. ``inputs`` maps input names to arrays of shape (T, dim) or
    (B, T, dim) (a bare array when the program has one input); outputs have the same leading axes.
    With ``exact`` the arrays hold ``Fraction`` (dtype object), otherwise ``float64``."""
    values = evaluate(program, inputs, exact)
    return {name: values[node] for name, node in program.outputs}


def evaluate(program: CheckedProgram, inputs: Inputs, exact: bool = True) -> dict[Node, np.ndarray]:
    """Every node's value at every step (for comparing a compiled model layer by layer)."""
    batch, single = _prepare(program, inputs, exact)
    b, t = next(iter(batch.values())).shape[:2]
    run = _Run(exact, b)
    values: dict[Node, list[np.ndarray]] = {node: [] for node in program.nodes}
    for step in range(t):
        now: dict[Node, np.ndarray] = {}
        for node in program.nodes:
            now[node] = batch[node.name][:, step] if isinstance(node, Input) else run.step(node, now)
            values[node].append(now[node])
    return {node: _stack(seq, b, node.dim, run.dtype, single) for node, seq in values.items()}


def _stack(seq: list[np.ndarray], b: int, dim: int, dtype: object, single: bool) -> np.ndarray:
    out = np.stack(seq, axis=1) if seq else np.zeros((b, 0, dim), dtype=dtype)
    return out[0] if single else out


def _prepare(program: CheckedProgram, inputs: Inputs, exact: bool) -> tuple[dict[str, np.ndarray], bool]:
    """Inputs as arrays (B, T, dim) of the right number type; whether they were given as one sequence."""
    if not isinstance(inputs, Mapping):
        if len(program.inputs) != 1:
            raise InputValueError(f"the program has {len(program.inputs)} inputs "
                                  f"({', '.join(i.name for i in program.inputs)}); pass a mapping from name to array")
        inputs = {program.inputs[0].name: inputs}
    unknown = sorted(set(inputs) - {i.name for i in program.inputs})
    if unknown:
        raise InputValueError(f"the program has no input {unknown[0]!r}")
    arrays: dict[str, np.ndarray] = {}
    for node in program.inputs:
        if node.name not in inputs:
            raise InputValueError(f"no value given for input {node.name!r}")
        arrays[node.name] = _convert(node, inputs[node.name], exact)
    ranks = {a.ndim for a in arrays.values()}
    if len(ranks) > 1:
        raise InputValueError("give every input as one sequence (T, dim) or every input as a batch (B, T, dim)")
    single = ranks == {2}
    batch = {name: a[None] if single else a for name, a in arrays.items()}
    shapes = {a.shape[:2] for a in batch.values()}
    if len(shapes) > 1:
        raise InputValueError(f"inputs disagree on (batch, length): {sorted(shapes)}")
    return batch, single


def _convert(node: Input, value: object, exact: bool) -> np.ndarray:
    array = np.array(value, dtype=object)
    if array.ndim == 1 and node.dim == 1:
        array = array[:, None]
    if array.ndim not in (2, 3) or array.shape[-1] != node.dim:
        raise InputValueError(f"input {node.name!r} has dimension {node.dim}: give an array of shape "
                              f"(T, {node.dim}) or (B, T, {node.dim}), not {array.shape}")
    try:
        flat = [Fraction(v) if exact else float(v) for v in array.reshape(-1)]
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as err:
        raise InputValueError(f"input {node.name!r} holds a value that is not a finite number ({err})") from None
    if not exact and not np.isfinite(flat).all():
        raise InputValueError(f"input {node.name!r} holds a value that is not a finite number")
    return np.array(flat, dtype=object if exact else np.float64).reshape(array.shape)


class _Run:
    """The states of the recurrent nodes and the arrays of constants, for one batch."""

    def __init__(self, exact: bool, batch: int) -> None:
        self.dtype = object if exact else np.float64
        self.batch = batch
        self.zero = Fraction(0) if exact else 0.0
        self.state: dict[Node, np.ndarray] = {}
        self.arrays: dict[tuple[Node, object], np.ndarray] = {}

    def const(self, node: Node, role: object, exact: Callable[[], np.ndarray]) -> np.ndarray:
        """A weight of ``node`` as an array of this run's number type, converted once."""
        if (node, role) not in self.arrays:
            self.arrays[node, role] = exact().astype(self.dtype)
        return self.arrays[node, role]

    def initial(self, node: Node, init: np.ndarray) -> np.ndarray:
        """The state of a recurrent node before this step (its ``init`` before the first)."""
        if node not in self.state:
            self.state[node] = np.broadcast_to(init.astype(self.dtype), (self.batch, *init.shape)).copy()
        return self.state[node]

    def step(self, node: Node, now: dict[Node, np.ndarray]) -> np.ndarray:
        """The value of ``node`` at this step, given the values of its inputs at this step."""
        if isinstance(node, Affine):
            out = np.broadcast_to(self.const(node, "bias", lambda: vector(node.bias)), (self.batch, node.dim)).copy()
            for i, term in enumerate(node.terms):
                out = out + now[term.node] @ self.const(node, i, lambda: matrix(term.weight)).T
            return out
        if isinstance(node, Relu):
            x = now[node.x]
            return np.where(x > 0, x, self.zero)
        if isinstance(node, Multiply):
            return now[node.x] * now[node.y]
        if isinstance(node, Concat):
            return np.concatenate([now[p] for p in node.parts], axis=1)
        if isinstance(node, Slice):
            return now[node.x][:, node.start:node.stop]
        if isinstance(node, LtiState):
            s = self.initial(node, vector(node.init))
            a, b = self.const(node, "a", lambda: matrix(node.a)), self.const(node, "b", lambda: matrix(node.b))
            s = s @ a.T + now[node.x] @ b.T
        elif isinstance(node, DiagonalState):
            s = now[node.a] * self.initial(node, vector(node.init)) + now[node.b]
        elif isinstance(node, DeltaState):
            s = self.delta(node, now)
        else:
            assert isinstance(node, AutomatonState), node
            s = self.automaton(node, now[node.x])
        self.state[node] = s
        return s.reshape(self.batch, node.dim)

    def delta(self, node: DeltaState, now: dict[Node, np.ndarray]) -> np.ndarray:
        """``factors`` generalised Householder updates of the (B, dk, dv) state, in order."""
        s = self.initial(node, matrix(node.init))
        k = now[node.k].reshape(self.batch, node.factors, node.key_dim)
        v = now[node.v].reshape(self.batch, node.factors, node.value_dim)
        beta = now[node.beta]
        for j in range(node.factors):
            kj, vj, bj = k[:, j, :, None], v[:, j, None, :], beta[:, j, None, None]
            s = s + bj * kj * (vj - np.swapaxes(kj, 1, 2) @ s)
        return s

    def automaton(self, node: AutomatonState, x: np.ndarray) -> np.ndarray:
        """``s_t[r] = sum over (q, a) with delta(q, a) = r of x_t[a] s_{t-1}[q]``."""
        s = self.initial(node, vector(node.init()))
        flow = (s[:, :, None] * x[:, None, :]).reshape(self.batch, -1)
        out = np.zeros((self.batch, node.dim), dtype=self.dtype) + self.zero
        np.add.at(out.T, np.asarray(node.dfa.delta).reshape(-1), flow.T)
        return out

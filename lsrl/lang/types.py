"""The kinds of value the checker computes with (signals and constants), their shapes, and the coercions between them
(docs/language.md#inside-the-checker-and-the-interpreter)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Union

import numpy as np

from lsrl.lang.errors import Location, LsrlTypeError, LsrlValueError, ShapeError

if TYPE_CHECKING:
    from automata.dfa import DFA
    from lsrl.lang import ast
    from lsrl.lang.graph import Node

MAX_DIM = 1 << 16
MAX_ENTRIES = 1 << 20


@dataclass(frozen=True, eq=False)
class Const:
    """A scalar, vector or matrix of exact reals: a read-only ``object`` array of rank 0 to 2 whose entries are
    ``Fraction`` or, for constants such as ``sqrt(3)`` and ``cos(pi / 6)``, ``proofs.cyclotomic.Algebraic``."""

    value: np.ndarray

    def __post_init__(self) -> None:
        array = np.array(self.value, dtype=object)
        if array.ndim > 2:
            raise AssertionError("constants have rank at most 2")
        array.setflags(write=False)
        object.__setattr__(self, "value", array)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def rank(self) -> int:
        return self.value.ndim

    def describe(self) -> str:
        return shape_name(self.shape)


@dataclass(frozen=True, eq=False)
class Signal:
    """A vector-valued sequence: the value of one graph node at every step."""

    node: Node

    @property
    def dim(self) -> int:
        return self.node.dim

    def describe(self) -> str:
        return f"signal[{self.dim}]"


@dataclass(frozen=True)
class Text:
    value: str

    def describe(self) -> str:
        return "string"


@dataclass(frozen=True, eq=False)
class Automaton:
    """A DFA, the expression it came from (``task("parity")``), and a label for each state (a task's
    labels, or 1 on accepting states and 0 elsewhere for other DFAs)."""

    dfa: DFA
    source: str
    labels: np.ndarray
    label_names: tuple[str, ...]

    def describe(self) -> str:
        return f"automaton {self.source} ({self.dfa.n_states} states)"


@dataclass(frozen=True)
class Angle:
    """A rational multiple of pi (``pi``, ``2 * pi / 3``): known when checked, taken by ``cos`` and ``sin``, whose
    values are exact algebraic numbers (``proofs.cyclotomic.Algebraic``)."""

    multiple: Fraction  # the angle is multiple * pi

    def describe(self) -> str:
        return f"multiple of pi ({self.multiple} pi)"


@dataclass(frozen=True)
class Alphabet:
    """The symbols of a one-hot input: ``input x : alphabet(D)`` or ``symbols("a", "b")``."""

    symbols: tuple[str, ...]

    def describe(self) -> str:
        return f"alphabet of {len(self.symbols)} symbols"


@dataclass(frozen=True)
class Blocks:
    """A list literal whose items are not all scalars or vectors, e.g. the rows of ``block([[A, B]])``."""

    items: tuple[Value, ...]

    def describe(self) -> str:
        return f"list of {len(self.items)} items"


@dataclass(frozen=True, eq=False)
class Macro:
    """A ``def``; ``scope`` is the module scope its body resolves free names in (at call time)."""

    definition: ast.Def
    scope: object

    def describe(self) -> str:
        return f"function {self.definition.name}"


Value = Union[Const, Signal, Text, Angle, Automaton, Alphabet, Blocks, Macro]


def shape_name(shape: tuple[int, ...]) -> str:
    if len(shape) == 0:
        return "scalar"
    if len(shape) == 1:
        return f"vector[{shape[0]}]"
    return f"matrix[{shape[0]}x{shape[1]}]"


def const(value: object) -> Const:
    """A constant from nested sequences of numbers, converted exactly to ``Fraction``."""
    array = np.array(value, dtype=object)
    return Const(np.vectorize(Fraction, otypes=[object])(array) if array.size else array)


def check_size(shape: tuple[int, ...], loc: Location) -> None:
    """Refuse shapes no program needs, before memory is spent on them."""
    if any(n < 1 for n in shape):
        raise ShapeError(f"a {shape_name(shape)} has no entries; dimensions start at 1", loc)
    if any(n > MAX_DIM for n in shape) or int(np.prod(shape)) > MAX_ENTRIES:
        raise LsrlValueError(f"{shape_name(shape)} is too large (at most {MAX_DIM} per axis and "
                             f"{MAX_ENTRIES} entries)", loc)


def as_int(value: Value, loc: Location, what: str) -> int:
    """An integer constant, e.g. a dimension or an index."""
    if not isinstance(value, Const) or value.rank != 0:
        raise LsrlTypeError(f"{what} must be an integer constant, not a {value.describe()}", loc)
    number = value.value.item()
    if not isinstance(number, Fraction) or number.denominator != 1:
        raise LsrlValueError(f"{what} must be an integer, not {number}", loc)
    return int(number)


def as_dim(value: Value, loc: Location, what: str) -> int:
    n = as_int(value, loc, what)
    check_size((n,), loc)
    return n


def as_const(value: Value, loc: Location, what: str, rank: int | None = None) -> Const:
    """A constant, of the given rank if one is asked for (a scalar where a matrix is wanted is an error)."""
    if not isinstance(value, Const):
        raise LsrlTypeError(f"{what} must be a constant, not a {value.describe()}", loc)
    if rank is not None and value.rank != rank:
        raise ShapeError(f"{what} must be a {('scalar', 'vector', 'matrix')[rank]}, not a {value.describe()}", loc)
    return value


def as_text(value: Value, loc: Location, what: str) -> str:
    if not isinstance(value, Text):
        raise LsrlTypeError(f"{what} must be a string, not a {value.describe()}", loc)
    return value.value


def as_automaton(value: Value, loc: Location, what: str) -> Automaton:
    if not isinstance(value, Automaton):
        raise LsrlTypeError(f"{what} must be an automaton (task(...), regex(...) or dfa_file(...)), "
                            f"not a {value.describe()}", loc)
    return value


def is_numeric(value: Value) -> bool:
    """Signals and constant scalars and vectors: what arithmetic and ``concat`` accept."""
    return isinstance(value, Signal) or (isinstance(value, Const) and value.rank <= 1)


def vector_dim(value: Value) -> int:
    """The dimension of a signal or constant vector; a scalar counts as dimension 1."""
    if isinstance(value, Signal):
        return value.dim
    assert isinstance(value, Const) and value.rank <= 1
    return 1 if value.rank == 0 else value.shape[0]

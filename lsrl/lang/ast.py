"""The lsrl abstract syntax tree: frozen dataclasses, each with the source location it came from; untyped and unresolved
until ``lsrl.lang.check``."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from lsrl.lang.errors import Location


@dataclass(frozen=True)
class Expr:
    """Base of expressions."""

    loc: Location


@dataclass(frozen=True)
class Number(Expr):
    """A rational literal; ``0.25`` and ``1e-3`` are read exactly."""

    value: Fraction


@dataclass(frozen=True)
class String(Expr):
    """A string literal (task names, regexes, file names, symbols)."""

    value: str


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class ListLit(Expr):
    """``[a, b, ...]``: a constant vector, a matrix (a list of rows) or a list of blocks."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    """``left op right`` with ``op`` one of ``+ - * / @ %``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Keyword:
    name: str
    value: Expr
    loc: Location


@dataclass(frozen=True)
class Call(Expr):
    """``func(args..., name = value, ...)``: a builtin or a ``def``."""

    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]


@dataclass(frozen=True)
class Index(Expr):
    """``target[index]``: one component of a signal or vector, one row of a matrix."""

    target: Expr
    index: Expr


@dataclass(frozen=True)
class SliceExpr(Expr):
    """``target[start:stop]``, either bound optional."""

    target: Expr
    start: Expr | None
    stop: Expr | None


@dataclass(frozen=True)
class Conditional(Expr):
    """``then if condition else otherwise``: the condition is a constant; only the chosen branch is checked."""

    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class Comprehension(Expr):
    """``[item for name in values]``: ``item`` checked once per element (row, block) of the constant ``values``."""

    item: Expr
    name: str
    values: Expr


@dataclass(frozen=True)
class Stmt:
    """Base of top-level items and block statements."""

    loc: Location


@dataclass(frozen=True)
class Use(Stmt):
    """``use logic`` (a standard-library module) or ``use "file.lsrl"`` (relative to this file)."""

    module: str
    is_path: bool


@dataclass(frozen=True)
class InputDecl(Stmt):
    """``input x : 3`` or ``input x : alphabet(D)``: a vector input of that dimension at every step."""

    name: str
    spec: Expr


@dataclass(frozen=True)
class ParamDecl(Stmt):
    """``param T = 3``: a named compile-time constant that the command line may override (``--param T=8``)."""

    name: str
    value: Expr


@dataclass(frozen=True)
class Let(Stmt):
    name: str
    value: Expr


@dataclass(frozen=True)
class OutputDecl(Stmt):
    """``output y = expr``, or ``output y`` for an existing binding ``y``."""

    name: str
    value: Expr | None


@dataclass(frozen=True)
class Param:
    name: str
    default: Expr | None
    loc: Location


@dataclass(frozen=True)
class Def(Stmt):
    """A macro: ``def f(x, mu = 1) = expr`` or ``def f(x) { let a = ... return expr }``."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Let, ...]
    result: Expr


@dataclass(frozen=True)
class Program:
    """One parsed source file, its text kept for error messages."""

    file: str
    source: str
    items: tuple[Stmt, ...]

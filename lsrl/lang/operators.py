"""The arithmetic operators on checker values: folded exactly on constants, graph nodes on signals
(docs/language.md#inside-the-checker-and-the-interpreter)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lsrl.lang.errors import Location, LsrlTypeError, LsrlValueError, ShapeError
from lsrl.lang.graph import Affine, GraphBuilder, Multiply, Node, Term, freeze_matrix, freeze_vector, matrix, vector
from lsrl.lang.types import Angle, Const, Signal, Value, check_size, is_numeric, vector_dim
from proofs.cyclotomic import Algebraic

_VERB = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "@": "multiply (@)", "%": "take % of"}


def fractions(shape: tuple[int, ...], value: int = 0) -> np.ndarray:
    return np.full(shape, Fraction(value), dtype=object)


def identity(n: int) -> np.ndarray:
    eye = fractions((n, n))
    eye[np.arange(n), np.arange(n)] = Fraction(1)
    return eye


@dataclass
class AffineForm:
    """``sum_i W_i x_i + b`` over nodes ``x_i``: the linear view of a signal or constant."""

    dim: int
    terms: dict[Node, np.ndarray]
    bias: np.ndarray

    def broadcast(self, n: int, loc: Location) -> AffineForm:
        """Repeat a 1-dimensional form ``n`` times."""
        if self.dim == n:
            return self
        assert self.dim == 1
        check_size((n, max([1, *(x.dim for x in self.terms)])), loc)
        return AffineForm(n, {x: np.repeat(w, n, axis=0) for x, w in self.terms.items()}, np.repeat(self.bias, n))

    def scale(self, factor: np.ndarray) -> AffineForm:
        """Multiply component i by ``factor[i]``."""
        return AffineForm(self.dim, {x: w * factor[:, None] for x, w in self.terms.items()}, self.bias * factor)

    def plus(self, other: AffineForm) -> AffineForm:
        terms = dict(self.terms)
        for x, w in other.terms.items():
            terms[x] = terms[x] + w if x in terms else w
        return AffineForm(self.dim, terms, self.bias + other.bias)

    def map(self, a: np.ndarray, loc: Location) -> AffineForm:
        """``a @ form`` for a constant matrix ``a``."""
        check_size((a.shape[0], max([1, *(x.dim for x in self.terms)])), loc)
        return AffineForm(a.shape[0], {x: a.dot(w) for x, w in self.terms.items()}, a.dot(self.bias))


def form_of(value: Value, builder: GraphBuilder, loc: Location) -> AffineForm:
    """The affine form of a signal (fusing an unnamed ``Affine`` node into its inputs) or a constant."""
    if isinstance(value, Const):
        bias = value.value.reshape(-1)
        return AffineForm(len(bias), {}, bias.copy())
    assert isinstance(value, Signal)
    node = value.node
    if isinstance(node, Affine) and node not in builder.labels:
        return AffineForm(node.dim, {t.node: matrix(t.weight) for t in node.terms}, vector(node.bias))
    check_size((node.dim, node.dim), loc)
    return AffineForm(node.dim, {node: identity(node.dim)}, fractions((node.dim,)))


def materialize(form: AffineForm, builder: GraphBuilder, loc: Location) -> Signal:
    """The node computing ``form``: an existing node when the form is one node unchanged."""
    terms = {x: w for x, w in form.terms.items() if any(v != 0 for v in w.reshape(-1))}
    zero_bias = all(v == 0 for v in form.bias)
    if len(terms) == 1 and zero_bias:
        (x, w), = terms.items()
        if w.shape == (x.dim, x.dim) and (w == identity(x.dim)).all():
            return Signal(x)
    check_size((form.dim,), loc)
    node = builder.add(Affine, form.dim, loc, terms=tuple(Term(x, freeze_matrix(w)) for x, w in terms.items()),
                       bias=freeze_vector(form.bias))
    return Signal(node)


def lift(value: Value, builder: GraphBuilder, loc: Location) -> Signal:
    """A signal for a signal, a constant signal for a constant scalar or vector."""
    if isinstance(value, Signal):
        return value
    return materialize(form_of(value, builder, loc), builder, loc)


def common_dim(op: str, left: Value, right: Value, loc: Location) -> int:
    """The result dimension under the broadcasting rule, or a ShapeError naming both shapes."""
    if not (is_numeric(left) and is_numeric(right)):
        matrices = any(isinstance(v, Const) and v.rank == 2 for v in (left, right))
        hint = "; a matrix acts on a signal with @" if matrices else ""
        raise LsrlTypeError(f"cannot {_VERB[op]} a {left.describe()} and a {right.describe()}{hint}", loc)
    m, n = vector_dim(left), vector_dim(right)
    if m != n and 1 not in (m, n):
        raise ShapeError(f"cannot {_VERB[op]} a {left.describe()} and a {right.describe()}: "
                         f"dimensions {m} and {n} differ", loc)
    return max(m, n)


def binary(op: str, left: Value, right: Value, builder: GraphBuilder, loc: Location) -> Value:
    """Evaluate ``left op right``."""
    if isinstance(left, Angle) or isinstance(right, Angle):
        return angle_binary(op, left, right, loc)
    if isinstance(left, Const) and isinstance(right, Const):
        return const_binary(op, left, right, loc)
    if op in "+-":
        n = common_dim(op, left, right, loc)
        a, b = form_of(left, builder, loc).broadcast(n, loc), form_of(right, builder, loc).broadcast(n, loc)
        return materialize(a.plus(b.scale(fractions((n,), -1)) if op == "-" else b), builder, loc)
    if op == "*":
        return _multiply(left, right, builder, loc)
    if op == "/":
        return _divide(left, right, builder, loc)
    if op == "@":
        return _matmul(left, right, builder, loc)
    raise LsrlTypeError(f"% needs constant operands, not a {left.describe()} and a {right.describe()}", loc)


def angle_binary(op: str, left: Value, right: Value, loc: Location) -> Angle:
    """Angles add and subtract, and scale by rational scalars (``2 * pi / 3``)."""
    def rational(v: Value) -> Fraction | None:
        number = v.value.item() if isinstance(v, Const) and v.rank == 0 else None
        return number if isinstance(number, Fraction) else None

    if isinstance(left, Angle) and isinstance(right, Angle) and op in "+-":
        return Angle(left.multiple + right.multiple if op == "+" else left.multiple - right.multiple)
    if op == "*" and isinstance(left, Angle) and rational(right) is not None:
        return Angle(left.multiple * rational(right))
    if op == "*" and isinstance(right, Angle) and rational(left) is not None:
        return Angle(right.multiple * rational(left))
    if op == "/" and isinstance(left, Angle) and rational(right) is not None:
        if rational(right) == 0:
            raise LsrlValueError("division by zero", loc)
        return Angle(left.multiple / rational(right))
    raise LsrlTypeError(f"cannot {_VERB[op]} a {left.describe()} and a {right.describe()}: an angle (a rational "
                        "multiple of pi) adds to angles and scales by rational scalars; cos and sin take it", loc)


def negate(value: Value, builder: GraphBuilder, loc: Location) -> Value:
    if isinstance(value, Angle):
        return Angle(-value.multiple)
    if isinstance(value, Const):
        return Const(-value.value)
    if not isinstance(value, Signal):
        raise LsrlTypeError(f"cannot negate a {value.describe()}", loc)
    return materialize(form_of(value, builder, loc).scale(fractions((value.dim,), -1)), builder, loc)


def _multiply(left: Value, right: Value, builder: GraphBuilder, loc: Location) -> Signal:
    n = common_dim("*", left, right, loc)
    if isinstance(left, Signal) and isinstance(right, Signal):
        x, y = (materialize(form_of(s, builder, loc).broadcast(n, loc), builder, loc).node for s in (left, right))
        return Signal(builder.add(Multiply, n, loc, x=x, y=y))
    signal, constant = (left, right) if isinstance(left, Signal) else (right, left)
    assert isinstance(constant, Const)
    factor = np.array(np.broadcast_to(constant.value.reshape(-1), (n,)), dtype=object)
    return materialize(form_of(signal, builder, loc).broadcast(n, loc).scale(factor), builder, loc)


def _divide(left: Value, right: Value, builder: GraphBuilder, loc: Location) -> Signal:
    if isinstance(right, Signal):
        raise LsrlTypeError(f"cannot divide by a {right.describe()}: division needs a constant divisor", loc)
    n = common_dim("/", left, right, loc)
    assert isinstance(right, Const)
    divisor = right.value.reshape(-1)
    if any(d == 0 for d in divisor):
        raise LsrlValueError("division by zero", loc)
    factor = np.broadcast_to(np.array([Fraction(1) / d for d in divisor], dtype=object), (n,))
    return materialize(form_of(left, builder, loc).broadcast(n, loc).scale(np.array(factor, dtype=object)), builder, loc)


def _matmul(left: Value, right: Value, builder: GraphBuilder, loc: Location) -> Signal:
    if not isinstance(left, Const) or left.rank == 0:
        raise LsrlTypeError(f"the left operand of @ must be a constant matrix or vector, not a {left.describe()}", loc)
    if not isinstance(right, Signal):
        raise LsrlTypeError(f"cannot multiply (@) a {left.describe()} and a {right.describe()}", loc)
    a = left.value if left.rank == 2 else left.value.reshape(1, -1)
    if a.shape[1] != right.dim:
        raise ShapeError(f"cannot multiply (@) a {left.describe()} and a {right.describe()}: "
                         f"{a.shape[1]} columns against dimension {right.dim}", loc)
    return materialize(form_of(right, builder, loc).map(a, loc), builder, loc)


def const_binary(op: str, left: Const, right: Const, loc: Location) -> Const:
    """Exact arithmetic on constants; elementwise operands must have equal shapes or one be a scalar."""
    a, b = left.value, right.value
    if op == "@":
        if left.rank == 0 or right.rank == 0 or a.shape[-1] != b.shape[0]:
            raise ShapeError(f"cannot multiply (@) a {left.describe()} and a {right.describe()}", loc)
        result = np.array(a.dot(b), dtype=object)
        check_size(result.shape, loc)
        return Const(result)
    if left.shape != right.shape and 0 not in (left.rank, right.rank):
        raise ShapeError(f"cannot {_VERB[op]} a {left.describe()} and a {right.describe()}", loc)
    if op in "/%" and any(v == 0 for v in np.asarray(b).reshape(-1)):
        raise LsrlValueError("division by zero" if op == "/" else "% by zero", loc)
    if op == "%" and (left.rank or right.rank):
        raise LsrlTypeError(f"% needs scalars, not a {left.describe()} and a {right.describe()}", loc)
    if op == "%" and any(isinstance(v, Algebraic) for v in (a.item(), b.item())):
        raise LsrlTypeError("% needs rational operands, not an irrational constant", loc)
    result = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "%": np.mod}[op](a, b)
    return Const(np.array(result, dtype=object))


"""The built-in functions (primitives, constant constructors, automaton sources): ``BUILTINS`` maps each name to its
signature; each takes checked values and returns one, adding graph nodes for signals (docs/language.md)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from automata.errors import LsrlInputError
from lsrl.lang.errors import ArityError, Location, LsrlError, LsrlTypeError, LsrlValueError, ShapeError
from lsrl.lang.graph import (
    AutomatonState,
    Concat,
    DeltaState,
    DiagonalState,
    GraphBuilder,
    LtiState,
    Relu,
    freeze_matrix,
    freeze_vector,
)
from lsrl.lang.operators import form_of, fractions, identity, lift, materialize
from lsrl.lang.types import (
    Alphabet,
    Angle,
    Automaton,
    Blocks,
    Const,
    Signal,
    Value,
    as_automaton,
    as_const,
    as_dim,
    as_int,
    as_text,
    check_size,
    const,
    is_numeric,
    vector_dim,
)
from proofs.cyclotomic import Algebraic, cos_pi, sin_pi, sqrt_rational


@dataclass(frozen=True)
class Arg:
    """An argument's value and the location of the expression it came from."""

    value: Value
    loc: Location


Args = dict[str, "Arg | None"]


@dataclass(frozen=True)
class Builtin:
    """``params`` in order, the first ``required`` of them mandatory; ``variadic`` takes positionals only."""

    name: str
    params: tuple[str, ...]
    required: int
    variadic: bool
    fn: Callable[..., Value]

    def bind(self, args: list[Arg], kwargs: dict[str, Arg], loc: Location) -> Args | list[Arg]:
        """Match arguments to parameters, or raise an ArityError saying what is wrong."""
        if self.variadic:
            if kwargs:
                raise ArityError(f"{self.name}() takes no keyword arguments", next(iter(kwargs.values())).loc)
            if len(args) < self.required:
                raise ArityError(f"{self.name}() needs at least {self.required} argument(s)", loc)
            return args
        if len(args) > len(self.params):
            raise ArityError(f"{self.name}() takes at most {len(self.params)} argument(s) "
                             f"({', '.join(self.params)}), got {len(args)}", args[len(self.params)].loc)
        bound: Args = dict.fromkeys(self.params)
        bound.update(zip(self.params, args))
        for name, arg in kwargs.items():
            if name not in bound:
                raise ArityError(f"{self.name}() has no parameter {name!r} (it takes {', '.join(self.params)})", arg.loc)
            if bound[name] is not None:
                raise ArityError(f"{self.name}() got two values for {name!r}", arg.loc)
            bound[name] = arg
        missing = [p for p in self.params[:self.required] if bound[p] is None]
        if missing:
            raise ArityError(f"{self.name}() is missing argument {missing[0]!r}", loc)
        return bound

    def __call__(self, builder: GraphBuilder, args: list[Arg], kwargs: dict[str, Arg], loc: Location) -> Value:
        return self.fn(builder, self.bind(args, kwargs, loc), loc)


BUILTINS: dict[str, Builtin] = {}


def builtin(signature: str) -> Callable[[Callable[..., Value]], Callable[..., Value]]:
    """Register a function under its name (less a trailing ``_``); ``signature`` is ``"x, A, B, init="``
    (``=`` marks optional parameters) or ``"*parts"`` for a variadic one."""
    def register(fn: Callable[..., Value]) -> Callable[..., Value]:
        name = fn.__name__.rstrip("_")
        names = [p.strip() for p in signature.split(",") if p.strip()]
        if names and names[0].startswith("*"):
            BUILTINS[name] = Builtin(name, (), 1, True, fn)
        else:
            required = sum(1 for p in names if not p.endswith("="))
            BUILTINS[name] = Builtin(name, tuple(p.rstrip("=") for p in names), required, False, fn)
        return fn
    return register


def _matrix(arg: Arg, what: str) -> np.ndarray:
    return as_const(arg.value, arg.loc, what, rank=2).value


def _signal(arg: Arg, builder: GraphBuilder, what: str) -> Signal:
    if not is_numeric(arg.value):
        raise LsrlTypeError(f"{what} must be a signal (or constant vector), not a {arg.value.describe()}", arg.loc)
    return lift(arg.value, builder, arg.loc)


def _init(arg: Arg | None, n: int, what: str) -> tuple[Fraction, ...]:
    """An initial state: a vector of dimension n, a scalar repeated n times, or zeros when absent."""
    if arg is None:
        return freeze_vector(fractions((n,)))
    value = as_const(arg.value, arg.loc, what)
    if value.rank == 2 or (value.rank == 1 and value.shape[0] != n):
        raise ShapeError(f"{what} must be a vector[{n}] (or a scalar), not a {value.describe()}", arg.loc)
    return freeze_vector(np.broadcast_to(value.value, (n,)))


# -- exact algebraic constants ----------------------------------------------------------------------

CONSTANTS: dict[str, Value] = {"pi": Angle(Fraction(1))}  # names bound in every scope


def _angle(arg: Arg, name: str) -> Fraction:
    if isinstance(arg.value, Angle):
        return arg.value.multiple
    if isinstance(arg.value, Const) and arg.value.rank == 0 and arg.value.value.item() == 0:
        return Fraction(0)
    raise LsrlTypeError(f"{name} takes an angle, a rational multiple of pi such as 2 * pi / 3 (its value is then an "
                        f"exact algebraic number), not a {arg.value.describe()}", arg.loc)


@builtin("angle")
def cos(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """cos(r pi) for a rational r: an exact element of a cyclotomic field (rational when it is, as cos(pi / 3))."""
    return Const(np.array(cos_pi(_angle(args["angle"], "cos")), dtype=object))


@builtin("angle")
def sin(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    return Const(np.array(sin_pi(_angle(args["angle"], "sin")), dtype=object))


@builtin("x")
def sqrt(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The nonnegative square root of a rational scalar, exactly (an algebraic number unless it is rational)."""
    x = args["x"]
    number = x.value.value.item() if isinstance(x.value, Const) and x.value.rank == 0 else None
    if not isinstance(number, Fraction):
        what = "an irrational constant" if isinstance(number, Algebraic) else f"a {x.value.describe()}"
        raise LsrlTypeError(f"sqrt takes a rational constant scalar, not {what}", x.loc)
    try:
        return Const(np.array(sqrt_rational(number), dtype=object))
    except ValueError as error:
        raise LsrlValueError(str(error), x.loc) from None


# -- signal primitives ----------------------------------------------------------------------------


@builtin("a, b=")
def range_(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """``range(n)`` is the constant vector [0, ..., n - 1] and ``range(a, b)`` is [a, ..., b - 1]: what a
    comprehension ``[... for i in range(n)]`` runs over."""
    a = as_int(args["a"].value, args["a"].loc, "a range bound")
    lo, hi = (0, a) if args.get("b") is None else (a, as_int(args["b"].value, args["b"].loc, "a range bound"))
    check_size((hi - lo,), loc)
    return const(list(range(lo, hi)))


@builtin("x")
def relu(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """``max(x, 0)`` elementwise."""
    x = args["x"]
    if isinstance(x.value, Const):
        return Const(np.array(np.maximum(x.value.value, Fraction(0)), dtype=object))
    signal = _signal(x, builder, "the argument of relu")
    return Signal(builder.add(Relu, signal.dim, loc, x=signal.node))


@builtin("*parts")
def concat(builder: GraphBuilder, parts: list[Arg], loc: Location) -> Value:
    """Signals and constant vectors laid end to end; constant only if every part is."""
    for part in parts:
        if not is_numeric(part.value):
            raise LsrlTypeError(f"concat takes signals and constant vectors, not a {part.value.describe()}", part.loc)
    check_size((sum(vector_dim(p.value) for p in parts),), loc)
    if all(isinstance(p.value, Const) for p in parts):
        return Const(np.concatenate([p.value.value.reshape(-1) for p in parts]))
    if len(parts) == 1:
        return parts[0].value
    nodes = tuple(lift(p.value, builder, p.loc).node for p in parts)
    return Signal(builder.add(Concat, sum(n.dim for n in nodes), loc, parts=nodes))


@builtin("x")
def sum_(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The sum of the components of a signal or vector."""
    x = args["x"]
    if not is_numeric(x.value):
        raise LsrlTypeError(f"sum takes a signal or vector, not a {x.value.describe()}", x.loc)
    if isinstance(x.value, Const):
        return Const(np.array(sum(x.value.value.reshape(-1), Fraction(0)), dtype=object))
    return materialize(form_of(x.value, builder, loc).map(fractions((1, x.value.dim), 1), loc), builder, loc)


@builtin("x, A, B, init=")
def lti(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """``s_t = A s_{t-1} + B x_t`` from ``s_0 = init``: LSRL's LinState (Petrov et al. 2024)."""
    x = _signal(args["x"], builder, "the input of lti")
    a, b = _matrix(args["A"], "A of lti"), _matrix(args["B"], "B of lti")
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"A of lti must be square, not a matrix[{a.shape[0]}x{a.shape[1]}]", args["A"].loc)
    n = a.shape[0]
    if b.shape != (n, x.dim):
        raise ShapeError(f"B of lti must be a matrix[{n}x{x.dim}] for a state of dimension {n} (from A) and "
                         f"an input signal[{x.dim}], not a matrix[{b.shape[0]}x{b.shape[1]}]", args["B"].loc)
    init = _init(args["init"], n, "init of lti")
    return Signal(builder.add(LtiState, n, loc, x=x.node, a=freeze_matrix(a), b=freeze_matrix(b), init=init))


@builtin("a, b, init=")
def diagonal(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """``s_t = a_t * s_{t-1} + b_t`` elementwise, with input-dependent ``a_t`` and ``b_t``."""
    a, b = _signal(args["a"], builder, "a of diagonal"), _signal(args["b"], builder, "b of diagonal")
    if a.dim != b.dim and 1 not in (a.dim, b.dim):
        raise ShapeError(f"a and b of diagonal must have equal dimensions, not a {a.describe()} and a {b.describe()}", loc)
    n = max(a.dim, b.dim)
    a, b = (materialize(form_of(s, builder, loc).broadcast(n, loc), builder, loc) for s in (a, b))
    init = _init(args["init"], n, "init of diagonal")
    return Signal(builder.add(DiagonalState, n, loc, a=a.node, b=b.node, init=init))


@builtin("k, v, beta, init=, factors=")
def delta(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The generalised Householder (delta rule) state, ``factors`` updates per step (DeltaProduct,
    Siems et al. 2025): ``S <- (I - beta_j k_j k_j^T) S + beta_j k_j v_j^T``; its value is S row by row."""
    k, v = _signal(args["k"], builder, "k of delta"), _signal(args["v"], builder, "v of delta")
    beta = _signal(args["beta"], builder, "beta of delta")
    factors = 1 if args["factors"] is None else as_int(args["factors"].value, args["factors"].loc, "factors")
    if factors < 1:
        raise LsrlValueError(f"factors must be at least 1, not {factors}", args["factors"].loc)
    if beta.dim != factors or k.dim % factors or v.dim % factors:
        raise ShapeError(f"delta with {factors} factor(s) needs k and v whose dimensions are multiples of "
                         f"{factors} and beta of dimension {factors}; got k {k.describe()}, v {v.describe()}, "
                         f"beta {beta.describe()}", loc)
    dk, dv = k.dim // factors, v.dim // factors
    check_size((dk * dv,), loc)
    if args["init"] is None:
        init = fractions((dk, dv))
    else:
        init = as_const(args["init"].value, args["init"].loc, "init of delta", rank=2).value
        if init.shape != (dk, dv):
            raise ShapeError(f"init of delta must be a matrix[{dk}x{dv}] (key x value dimension), "
                             f"not a matrix[{init.shape[0]}x{init.shape[1]}]", args["init"].loc)
    return Signal(builder.add(DeltaState, dk * dv, loc, k=k.node, v=v.node, beta=beta.node,
                              init=freeze_matrix(init), factors=factors, key_dim=dk, value_dim=dv))


@builtin("D, x")
def automaton(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The one-hot of the DFA's state after each prefix of the one-hot symbols ``x``."""
    d = as_automaton(args["D"].value, args["D"].loc, "the first argument of automaton")
    x = _signal(args["x"], builder, "the symbols of automaton")
    if x.dim != d.dfa.n_symbols:
        raise ShapeError(f"{d.describe()} reads one-hot symbols of dimension {d.dfa.n_symbols} "
                         f"(alphabet {', '.join(d.dfa.alphabet[:10])}), not a {x.describe()}", args["x"].loc)
    declared = getattr(x.node, "alphabet", None)
    if declared is not None and tuple(declared) != d.dfa.alphabet:
        raise LsrlTypeError(f"input {x.node.name!r} is the one-hot of ({', '.join(declared[:10])}) but "
                            f"{d.source} reads ({', '.join(d.dfa.alphabet[:10])}); declare it with "
                            f"`input {x.node.name} : alphabet(...)`", args["x"].loc)
    check_size((d.dfa.n_states,), loc)
    return Signal(builder.add(AutomatonState, d.dfa.n_states, loc, x=x.node, dfa=d.dfa, source=d.source))


# -- constant constructors ------------------------------------------------------------------------


def _shape(args: Args, loc: Location) -> tuple[int, ...]:
    n = as_dim(args["n"].value, args["n"].loc, "a dimension")
    if args["m"] is None:
        return (n,)
    shape = (n, as_dim(args["m"].value, args["m"].loc, "a dimension"))
    check_size(shape, loc)
    return shape


@builtin("n")
def identity_(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    n = as_dim(args["n"].value, args["n"].loc, "the dimension of identity")
    check_size((n, n), loc)
    return Const(identity(n))


@builtin("n, m=")
def zeros(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """A zero vector[n], or a zero matrix[n x m]."""
    return Const(fractions(_shape(args, loc)))


@builtin("n, m=")
def ones(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    return Const(fractions(_shape(args, loc), 1))


@builtin("n, i")
def onehot(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The i-th unit vector of dimension n (counting from 0)."""
    n = as_dim(args["n"].value, args["n"].loc, "the dimension of onehot")
    i = as_int(args["i"].value, args["i"].loc, "the index of onehot")
    if not 0 <= i < n:
        raise ShapeError(f"onehot index {i} is out of range for a vector[{n}]", args["i"].loc)
    e = fractions((n,))
    e[i] = Fraction(1)
    return Const(e)


@builtin("a, b=")
def arange(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The vector ``[a, a+1, ..., b-1]``; ``arange(n)`` is ``[0, ..., n-1]``."""
    first = as_int(args["a"].value, args["a"].loc, "the bound of arange")
    start, stop = (0, first) if args["b"] is None else (first, as_int(args["b"].value, args["b"].loc, "the bound of arange"))
    check_size((stop - start,), loc)
    return Const(np.array([Fraction(i) for i in range(start, stop)], dtype=object))


@builtin("rows")
def block(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """A matrix from a list of rows of matrix blocks, ``block([[A, B], [C, D]])``."""
    rows = args["rows"]
    if not isinstance(rows.value, Blocks) or not all(isinstance(r, Blocks) for r in rows.value.items):
        raise LsrlTypeError(f"block takes a list of rows of matrices, like block([[A, B], [C, D]]), "
                            f"not a {rows.value.describe()}", rows.loc)
    grid = [[as_const(m, rows.loc, "a block", rank=2).value for m in row.items] for row in rows.value.items]
    for i, row in enumerate(grid):
        if len({m.shape[0] for m in row}) != 1:
            raise ShapeError(f"the blocks of row {i} of block(...) have different heights "
                             f"({', '.join(str(m.shape[0]) for m in row)})", rows.loc)
    widths = [[m.shape[1] for m in row] for row in grid]
    if len({sum(w) for w in widths}) != 1:
        raise ShapeError(f"the rows of block(...) have different widths ({', '.join(str(sum(w)) for w in widths)})",
                         rows.loc)
    result = np.vstack([np.hstack(row) for row in grid])
    check_size(result.shape, loc)
    return Const(result)


@builtin("v")
def diagm(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The diagonal matrix with the vector ``v`` on its diagonal."""
    v = as_const(args["v"].value, args["v"].loc, "the argument of diagm", rank=1).value
    check_size((len(v), len(v)), loc)
    result = fractions((len(v), len(v)))
    result[np.arange(len(v)), np.arange(len(v))] = v
    return Const(result)


@builtin("A, B")
def kron(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The Kronecker product of two matrices, or of two vectors."""
    a, b = (as_const(args[p].value, args[p].loc, f"{p} of kron") for p in "AB")
    if a.rank != b.rank or a.rank == 0:
        raise ShapeError(f"kron needs two matrices or two vectors, not a {a.describe()} and a {b.describe()}", loc)
    check_size(tuple(int(x) * int(y) for x, y in zip(a.shape, b.shape)), loc)
    return Const(np.kron(a.value, b.value))


@builtin("A")
def transpose(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    return Const(as_const(args["A"].value, args["A"].loc, "the argument of transpose", rank=2).value.T)


@builtin("A")
def flatten(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The entries of a matrix row by row, as a vector (the layout of a delta state's value)."""
    return Const(as_const(args["A"].value, args["A"].loc, "the argument of flatten", rank=2).value.reshape(-1))


@builtin("A")
def flip(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """A vector's entries, or a matrix's rows, in reverse order."""
    value = as_const(args["A"].value, args["A"].loc, "the argument of flip")
    if value.rank == 0:
        raise ShapeError("flip takes a vector or a matrix, not a scalar", args["A"].loc)
    return Const(value.value[::-1])


def _shift_matrix(args: Args, loc: Location, cyclic: bool) -> Const:
    n = as_dim(args["n"].value, args["n"].loc, "the dimension")
    k = 1 if args["k"] is None else as_int(args["k"].value, args["k"].loc, "the shift")
    check_size((n, n), loc)
    result = fractions((n, n))
    for i in range(n):
        if cyclic or 0 <= i + k < n:
            result[(i + k) % n, i] = Fraction(1)
    return Const(result)


@builtin("n, k=")
def cyclic(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The permutation matrix sending ``e_i`` to ``e_{(i+k) mod n}``."""
    return _shift_matrix(args, loc, cyclic=True)


@builtin("n, k=")
def shift(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The matrix sending ``e_i`` to ``e_{i+k}`` (to zero past the end): a delay line as an LTI state."""
    return _shift_matrix(args, loc, cyclic=False)


@builtin("x")
def dim(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The dimension of a signal or vector (1 for a scalar)."""
    x = args["x"]
    if not is_numeric(x.value):
        raise LsrlTypeError(f"dim takes a signal or vector, not a {x.value.describe()}", x.loc)
    return Const(np.array(Fraction(vector_dim(x.value)), dtype=object))


@builtin("A")
def rows(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    return Const(np.array(Fraction(_matrix(args["A"], "the argument of rows").shape[0]), dtype=object))


@builtin("A")
def cols(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    return Const(np.array(Fraction(_matrix(args["A"], "the argument of cols").shape[1]), dtype=object))


# -- automata -------------------------------------------------------------------------------------


def _load(what: str, loc: Location, make: Callable[[], object]) -> object:
    """Call into ``automata``, turning its input errors into located errors."""
    try:
        return make()
    except LsrlError:
        raise
    except LsrlInputError as err:
        raise LsrlValueError(f"{what}: {err}", loc) from err


@builtin("name")
def task(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The DFA of a named task of ``automata.tasks`` (``task("mod:3")``)."""
    from automata.tasks import get_task

    name = as_text(args["name"].value, args["name"].loc, "the task name")
    found = _load(f"task {name!r}", args["name"].loc, lambda: get_task(name))
    return Automaton(found.dfa, f'task("{name}")', found.labels, found.label_names)


@builtin("pattern, alphabet=")
def regex(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The minimal DFA of a regular expression, over the given alphabet (a string of one-character
    symbols or an alphabet value) or by default the characters the pattern names."""
    from automata.regex import regex_to_dfa

    pattern = as_text(args["pattern"].value, args["pattern"].loc, "the pattern")
    alphabet = None if args["alphabet"] is None else _symbols(args["alphabet"])
    dfa = _load(f"regex {pattern!r}", args["pattern"].loc, lambda: regex_to_dfa(pattern, alphabet))
    return Automaton(dfa, f'regex("{pattern}")', *_acceptance(dfa))


@builtin("path")
def dfa_file(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """A DFA from a JSON file (docs/dfa-format.md), the path relative to the program's file."""
    from automata.fileformat import load_dfa

    path = Path(as_text(args["path"].value, args["path"].loc, "the file name"))
    if not path.is_absolute() and not loc.file.startswith("<"):
        path = Path(loc.file).parent / path
    dfa = _load(f"DFA file {str(path)!r}", args["path"].loc, lambda: _read_dfa(load_dfa, path))
    return Automaton(dfa, f'dfa_file("{args["path"].value.value}")', *_acceptance(dfa))


def _read_dfa(load: Callable[[Path], object], path: Path) -> object:
    try:
        return load(path)
    except OSError as err:
        raise LsrlInputError(f"cannot read it ({err.strerror})") from err


def _acceptance(dfa: object) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels of a plain DFA: 1 on accepting states, 0 elsewhere."""
    return dfa.accepting_mask().astype(np.int64), ("reject", "accept")


def _symbols(arg: Arg) -> tuple[str, ...]:
    if isinstance(arg.value, Alphabet):
        return arg.value.symbols
    return tuple(as_text(arg.value, arg.loc, "the alphabet"))


@builtin("D")
def accepting(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The matrix[1 x n_states] with 1 on accepting states: ``accepting(D) @ automaton(D, x)``."""
    d = as_automaton(args["D"].value, args["D"].loc, "the argument of accepting")
    return Const(np.array([[Fraction(int(m)) for m in d.dfa.accepting_mask()]], dtype=object))


@builtin("D")
def labels(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The matrix[n_labels x n_states] mapping a one-hot state to the one-hot of its label (a task's
    labels; accept/reject for other automata)."""
    d = as_automaton(args["D"].value, args["D"].loc, "the argument of labels")
    check_size((len(d.label_names), d.dfa.n_states), loc)
    result = fractions((len(d.label_names), d.dfa.n_states))
    result[d.labels, np.arange(d.dfa.n_states)] = Fraction(1)
    return Const(result)


@builtin("D")
def alphabet(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    """The alphabet of an automaton, to declare its one-hot input: ``input x : alphabet(D)``."""
    return Alphabet(as_automaton(args["D"].value, args["D"].loc, "the argument of alphabet").dfa.alphabet)


@builtin("*names")
def symbols(builder: GraphBuilder, names: list[Arg], loc: Location) -> Value:
    """An alphabet from symbol names: ``input x : symbols("a", "b")``."""
    result = tuple(as_text(a.value, a.loc, "a symbol") for a in names)
    if len(set(result)) != len(result):
        raise LsrlValueError("symbols(...) repeats a symbol", loc)
    return Alphabet(result)


@builtin("D")
def n_states(builder: GraphBuilder, args: Args, loc: Location) -> Value:
    d = as_automaton(args["D"].value, args["D"].loc, "the argument of n_states")
    return Const(np.array(Fraction(d.dfa.n_states), dtype=object))

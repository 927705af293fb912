"""The checking pass: AST to ``CheckedProgram`` (``lsrl.lang.graph``): names resolved, macros expanded, constants folded,
shapes checked (docs/language.md#inside-the-checker-and-the-interpreter)."""
from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from lsrl.lang import ast
from lsrl.lang.builtins import BUILTINS, CONSTANTS, Arg, concat
from lsrl.lang.errors import (
    ArityError,
    DuplicateName,
    Location,
    LsrlError,
    LsrlTypeError,
    LsrlValueError,
    MacroRecursion,
    ModuleError,
    ShapeError,
    UndefinedName,
)
from lsrl.lang.graph import CheckedProgram, GraphBuilder, Input, Slice
from lsrl.lang.operators import binary, lift, negate
from lsrl.lang.parser import parse_file
from lsrl.lang.types import (
    Alphabet,
    Angle,
    Blocks,
    Const,
    Macro,
    Signal,
    Text,
    Value,
    as_dim,
    as_int,
    check_size,
    const,
    is_numeric,
)

STDLIB = Path(__file__).with_name("stdlib")
RECURSION_LIMIT = 20_000  # the pass recurses on expressions; long sums nest deeply to the left


@dataclass
class Scope:
    """Names bound in one module or one macro call; ``parent`` is where free names are looked up next."""

    parent: Scope | None = None
    names: dict[str, Value] = field(default_factory=dict)
    where: dict[str, Location] = field(default_factory=dict)
    own: list[str] = field(default_factory=list)

    def lookup(self, name: str) -> Value | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def bind(self, name: str, value: Value, loc: Location, own: bool = True) -> None:
        if name in BUILTINS or name in CONSTANTS:
            raise DuplicateName(f"{name!r} is a builtin and cannot be redefined", loc)
        if name in self.names and self.names[name] is not value:
            raise DuplicateName(f"{name!r} is already defined at {self.where[name]}", loc)
        if name not in self.names:
            self.names[name] = value
            self.where[name] = loc
            if own:
                self.own.append(name)

    def visible(self) -> Iterator[str]:
        scope: Scope | None = self
        while scope is not None:
            yield from scope.names
            scope = scope.parent


def check(program: ast.Program, params: Mapping[str, Fraction] | None = None) -> CheckedProgram:
    """Check a parsed program and build its graph; raises an ``LsrlError`` with a located message.
    ``params`` overrides the values of the program's ``param`` declarations (``--param NAME=VALUE``)."""
    checker = _Checker(params or {})
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        return checker.main(program)
    except LsrlError as err:
        raise checker.locate(err) from None
    except RecursionError:
        raise LsrlError("the program is nested too deeply to check", None) from None
    finally:
        sys.setrecursionlimit(limit)


def check_file(path: str | Path, params: Mapping[str, Fraction] | None = None) -> CheckedProgram:
    """Parse and check the program in ``path`` (``params`` as in ``check``)."""
    return check(parse_file(path), params)


class _Checker:
    """One run of the pass: the graph under construction, loaded modules and source texts."""

    def __init__(self, params: Mapping[str, Fraction]) -> None:
        self.params = params
        self.overridden: set[str] = set()
        self.builder = GraphBuilder()
        self.sources: dict[str, str] = {}
        self.modules: dict[Path, Scope | None] = {}

    def locate(self, err: LsrlError) -> LsrlError:
        """Attach the offending source line to an error raised anywhere in the pass."""
        if err.location is not None and err.location.file in self.sources:
            lines = self.sources[err.location.file].split("\n")
            if 1 <= err.location.line <= len(lines):
                err.with_source(lines[err.location.line - 1])
        return err

    # -- modules and top-level items ---------------------------------------------------------------

    def main(self, program: ast.Program) -> CheckedProgram:
        scope = Scope()
        inputs: list[Input] = []
        outputs: dict[str, Signal] = {}
        self.run_module(program, scope, inputs, outputs)
        unknown = sorted(set(self.params) - self.overridden)
        if unknown:
            raise LsrlValueError(f"--param {unknown[0]}: {program.file} declares no `param {unknown[0]}`")
        if not inputs:
            raise LsrlError("the program declares no input (add e.g. `input x : 1`)", Location(program.file, 1, 1))
        if not outputs:
            raise LsrlError("the program declares no output (add e.g. `output y = x`)", Location(program.file, 1, 1))
        return self.builder.finish(tuple(inputs), tuple((n, s.node) for n, s in outputs.items()),
                                   tuple(self.sources))

    def run_module(self, program: ast.Program, scope: Scope, inputs: list[Input] | None,
                   outputs: dict[str, Signal] | None) -> None:
        """Run a file's items in order; defs are bound first so that they may be used before their text."""
        self.sources[program.file] = program.source
        for item in program.items:
            if isinstance(item, ast.Use):
                self.use(item, program.file, scope)
        for item in program.items:
            if isinstance(item, ast.Def):
                scope.bind(item.name, Macro(item, scope), item.loc)
        _check_recursion(program, scope)
        for item in program.items:
            if isinstance(item, (ast.InputDecl, ast.OutputDecl)) and inputs is None:
                kind = "input" if isinstance(item, ast.InputDecl) else "output"
                raise ModuleError(f"a module used by another file cannot declare an {kind}", item.loc)
            if isinstance(item, ast.InputDecl):
                inputs.append(self.input(item, scope))
            elif isinstance(item, ast.Let):
                self.let(item, scope, item.name)
            elif isinstance(item, ast.ParamDecl):
                self.param(item, scope, overridable=inputs is not None)
            elif isinstance(item, ast.OutputDecl):
                self.output(item, scope, outputs)

    def use(self, item: ast.Use, importer: str, scope: Scope) -> None:
        """Bind the names a module defines itself (not those it uses) in ``scope``."""
        if item.is_path:
            base = Path(importer).parent if not importer.startswith("<") else Path.cwd()
            path = (base / item.module).resolve()
        else:
            path = (STDLIB / f"{item.module}.lsrl").resolve()
            if not path.is_file():
                known = ", ".join(sorted(p.stem for p in STDLIB.glob("*.lsrl")))
                raise ModuleError(f"no standard module {item.module!r} (there are: {known})", item.loc)
        if path in self.modules and self.modules[path] is None:
            raise ModuleError(f"module {item.module!r} uses itself (a cycle of `use`)", item.loc)
        if path not in self.modules:
            if not path.is_file():
                raise ModuleError(f"no module file {str(path)!r}", item.loc)
            if path.suffix != ".lsrl":  # not parsed, so that a syntax error cannot echo a foreign file's text
                raise ModuleError(f"{str(path)!r} is not an lsrl module (module files end in .lsrl)", item.loc)
            self.modules[path] = None
            module = Scope()
            self.run_module(parse_file(path), module, None, None)
            self.modules[path] = module
        module = self.modules[path]
        for name in module.own:
            scope.bind(name, module.names[name], item.loc, own=False)

    def input(self, item: ast.InputDecl, scope: Scope) -> Input:
        spec = self.expr(item.spec, scope)
        if isinstance(spec, Alphabet):
            check_size((len(spec.symbols),), item.spec.loc)
            node = self.builder.add(Input, len(spec.symbols), item.loc, name=item.name, alphabet=spec.symbols)
        else:
            node = self.builder.add(Input, as_dim(spec, item.spec.loc, "an input's dimension"), item.loc,
                                    name=item.name)
        self.builder.label(node, item.name)
        scope.bind(item.name, Signal(node), item.loc)
        return node

    def param(self, item: ast.ParamDecl, scope: Scope, overridable: bool) -> None:
        """A compile-time constant; the main file's may be overridden from the command line."""
        if overridable and item.name in self.params:
            value: Value = const(self.params[item.name])
            self.overridden.add(item.name)
        else:
            value = self.expr(item.value, scope)
        if not isinstance(value, (Const, Text, Angle)):
            raise LsrlTypeError(f"param {item.name!r} must be a constant (number, vector, matrix, angle or string), "
                                f"not a {value.describe()}", item.loc)
        scope.bind(item.name, value, item.loc)

    def let(self, item: ast.Let, scope: Scope, label: str) -> Value:
        value = self.expr(item.value, scope)
        if isinstance(value, Signal):
            self.builder.label(value.node, label)
        scope.bind(item.name, value, item.loc)
        return value

    def output(self, item: ast.OutputDecl, scope: Scope, outputs: dict[str, Signal]) -> None:
        if item.name in outputs:
            raise DuplicateName(f"output {item.name!r} is declared twice", item.loc)
        if item.value is None:
            value = self.name(ast.Name(item.loc, item.name), scope)
        else:
            value = self.let(ast.Let(item.loc, item.name, item.value), scope, item.name)
        if not is_numeric(value):
            raise LsrlTypeError(f"an output must be a signal or a constant vector, not a {value.describe()}", item.loc)
        signal = lift(value, self.builder, item.loc)
        self.builder.label(signal.node, item.name)
        outputs[item.name] = signal

    # -- expressions -------------------------------------------------------------------------------

    def expr(self, e: ast.Expr, scope: Scope) -> Value:
        if isinstance(e, ast.Number):
            return const(e.value)
        if isinstance(e, ast.String):
            return Text(e.value)
        if isinstance(e, ast.Name):
            return self.name(e, scope)
        if isinstance(e, ast.ListLit):
            return self.list(e, scope)
        if isinstance(e, ast.Unary):
            return negate(self.expr(e.operand, scope), self.builder, e.loc)
        if isinstance(e, ast.Binary):
            return binary(e.op, self.expr(e.left, scope), self.expr(e.right, scope), self.builder, e.loc)
        if isinstance(e, ast.Index):
            return self.index(e, scope)
        if isinstance(e, ast.SliceExpr):
            return self.slice(e, scope)
        if isinstance(e, ast.Conditional):
            return self.conditional(e, scope)
        if isinstance(e, ast.Comprehension):
            return self.comprehension(e, scope)
        assert isinstance(e, ast.Call)
        return self.call(e, scope)

    def name(self, e: ast.Name, scope: Scope) -> Value:
        value = scope.lookup(e.id)
        value = CONSTANTS.get(e.id) if value is None else value
        if value is None:
            if e.id in BUILTINS:
                raise LsrlTypeError(f"{e.id!r} is a builtin function; call it with arguments", e.loc)
            close = difflib.get_close_matches(e.id, [*scope.visible(), *BUILTINS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UndefinedName(f"undefined name {e.id!r}{hint}", e.loc)
        if isinstance(value, Macro):
            raise LsrlTypeError(f"{e.id!r} is a function; call it with arguments", e.loc)
        return value

    def list(self, e: ast.ListLit, scope: Scope) -> Value:
        """Scalars make a vector, equal-length vectors a matrix (rows); anything else a list of blocks."""
        items = [self.expr(item, scope) for item in e.items]
        if any(isinstance(v, Signal) for v in items):
            raise LsrlTypeError("list literals hold constants; join signals with concat(...)", e.loc)
        return _collect(items, e.loc)

    def conditional(self, e: ast.Conditional, scope: Scope) -> Value:
        """The branch the constant condition chooses (nonzero: ``then``); the other is not checked."""
        condition = self.expr(e.condition, scope)
        if not isinstance(condition, Const) or condition.rank != 0:
            raise LsrlTypeError("the condition of `a if c else b` must be a constant number, known when the "
                                f"program is checked, not a {condition.describe()}", e.condition.loc)
        return self.expr(e.then if condition.value.item() != 0 else e.otherwise, scope)

    def comprehension(self, e: ast.Comprehension, scope: Scope) -> Value:
        """``item`` for each element of a constant vector (rows of a matrix, items of a list), unrolled: a
        constant list as a literal would make it, or the items' ``concat`` if any is a signal."""
        values = self.expr(e.values, scope)
        if isinstance(values, Blocks):
            elements = list(values.items)
        elif isinstance(values, Const) and values.rank > 0:
            elements = [Const(v) for v in values.value]
        else:
            raise LsrlTypeError(f"a comprehension runs over a constant vector, matrix or list (e.g. range(n)), "
                                f"not a {values.describe()}", e.values.loc)
        items = []
        for element in elements:
            local = Scope(parent=scope)
            local.bind(e.name, element, e.loc)
            items.append(self.expr(e.item, local))
        if any(isinstance(v, Signal) for v in items):
            return concat(self.builder, [Arg(v, e.item.loc) for v in items], e.loc)
        return _collect(items, e.loc)

    def index(self, e: ast.Index, scope: Scope) -> Value:
        target = self.expr(e.target, scope)
        length = _length(target, e.loc)
        i = as_int(self.expr(e.index, scope), e.index.loc, "an index")
        if not -length <= i < length:
            raise ShapeError(f"index {i} is out of range for a {target.describe()}", e.index.loc)
        i %= length
        if isinstance(target, Const):
            return Const(target.value[i])
        return Signal(self.builder.add(Slice, 1, e.loc, x=target.node, start=i, stop=i + 1))

    def slice(self, e: ast.SliceExpr, scope: Scope) -> Value:
        target = self.expr(e.target, scope)
        length = _length(target, e.loc)
        bounds = []
        for bound, default in ((e.start, 0), (e.stop, length)):
            b = default if bound is None else as_int(self.expr(bound, scope), bound.loc, "a slice bound")
            bounds.append(min(max(b + length if b < 0 else b, 0), length))
        start, stop = bounds
        if start >= stop:
            raise ShapeError(f"the slice [{start}:{stop}] of a {target.describe()} is empty", e.loc)
        if isinstance(target, Const):
            return Const(target.value[start:stop])
        if (start, stop) == (0, length):
            return target
        return Signal(self.builder.add(Slice, stop - start, e.loc, x=target.node, start=start, stop=stop))

    # -- calls -------------------------------------------------------------------------------------

    def call(self, e: ast.Call, scope: Scope) -> Value:
        args = [Arg(self.expr(a, scope), a.loc) for a in e.args]
        kwargs: dict[str, Arg] = {}
        for k in e.kwargs:
            if k.name in kwargs:
                raise ArityError(f"keyword argument {k.name!r} given twice", k.loc)
            kwargs[k.name] = Arg(self.expr(k.value, scope), k.value.loc)
        target = scope.lookup(e.func)
        if isinstance(target, Macro):
            return self.expand(target, args, kwargs, e.loc)
        if target is not None:
            raise LsrlTypeError(f"{e.func!r} is a {target.describe()}, not a function", e.loc)
        if e.func in BUILTINS:
            return BUILTINS[e.func](self.builder, args, kwargs, e.loc)
        close = difflib.get_close_matches(e.func, [*scope.visible(), *BUILTINS], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UndefinedName(f"undefined function {e.func!r}{hint}", e.loc)

    def expand(self, macro: Macro, args: list[Arg], kwargs: dict[str, Arg], loc: Location) -> Value:
        """Check the macro's body with its parameters bound to the arguments' values."""
        d = macro.definition
        if len(args) > len(d.params):
            raise ArityError(f"{d.name}() takes {len(d.params)} argument(s), got {len(args)}", args[len(d.params)].loc)
        names = [p.name for p in d.params]
        for name, arg in kwargs.items():
            if name not in names:
                raise ArityError(f"{d.name}() has no parameter {name!r} (it takes {', '.join(names) or 'none'})",
                                 arg.loc)
            if names.index(name) < len(args):
                raise ArityError(f"{d.name}() got two values for {name!r}", arg.loc)
        note = f"  in {d.name}(...) called at {loc}"
        self.builder.calls.append(note)
        try:
            local = Scope(parent=macro.scope)
            for i, param in enumerate(d.params):
                if i < len(args):
                    value = args[i].value
                elif param.name in kwargs:
                    value = kwargs[param.name].value
                elif param.default is not None:
                    value = self.expr(param.default, macro.scope)
                else:
                    raise ArityError(f"{d.name}() is missing argument {param.name!r}", loc)
                local.bind(param.name, value, param.loc)
            for let in d.body:
                self.let(let, local, f"{d.name}.{let.name}")
            return self.expr(d.result, local)
        except LsrlError as err:
            if err.location is not loc:
                err.add_context(note)
            raise
        finally:
            self.builder.calls.pop()


def _collect(items: list[Value], loc: Location) -> Value:
    """Constant items as a list literal makes them: a vector, a matrix (rows) or a list of blocks."""
    if not items:
        raise ShapeError("an empty list has no shape", loc)
    ranks = {v.rank for v in items if isinstance(v, Const)}
    if len(ranks) == 1 and all(isinstance(v, Const) for v in items) and ranks != {2}:
        lengths = sorted({v.shape[0] for v in items if v.rank == 1})
        if len(lengths) > 1:
            raise ShapeError(f"the rows of a matrix must have equal lengths, not {lengths[0]} and {lengths[-1]}",
                             loc)
        value = np.array([v.value.item() for v in items], dtype=object) if ranks == {0} else np.vstack(
            [v.value for v in items])
        check_size(value.shape, loc)
        return Const(value)
    if {0, 1} <= ranks:
        raise ShapeError("a list mixes scalars and vectors", loc)
    return Blocks(tuple(items))


def _length(target: Value, loc: Location) -> int:
    """What indexing counts: components of a signal or vector, rows of a matrix."""
    if isinstance(target, Signal):
        return target.dim
    if isinstance(target, Const) and target.rank >= 1:
        return target.shape[0]
    raise LsrlTypeError(f"cannot index a {target.describe()}", loc)


def _calls(e: ast.Expr | None) -> Iterator[ast.Call]:
    """Every call inside an expression, iteratively (expressions may nest deeply)."""
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            yield node
            stack.extend(node.args)
            stack.extend(k.value for k in node.kwargs)
        elif isinstance(node, ast.Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, ast.Unary):
            stack.append(node.operand)
        elif isinstance(node, ast.ListLit):
            stack.extend(node.items)
        elif isinstance(node, ast.Index):
            stack.extend((node.target, node.index))
        elif isinstance(node, ast.SliceExpr):
            stack.extend((node.target, node.start, node.stop))


def _check_recursion(program: ast.Program, scope: Scope) -> None:
    """Refuse a def that reaches itself through calls: expansion would not end."""
    defs = [item for item in program.items if isinstance(item, ast.Def)]
    edges: dict[str, list[ast.Call]] = {}
    for d in defs:
        hidden = {p.name for p in d.params} | {let.name for let in d.body}
        bodies = [d.result, *(let.value for let in d.body), *(p.default for p in d.params)]
        edges[d.name] = [c for body in bodies for c in _calls(body)
                         if c.func not in hidden and isinstance(scope.names.get(c.func), Macro)
                         and scope.names[c.func].scope is scope]
    state: dict[str, int] = {}
    for d in defs:
        cycle = _find_cycle(d.name, edges, state, [])
        if cycle is not None:
            chain, call = cycle
            raise MacroRecursion(f"recursive definition {' -> '.join(chain)}: macros are expanded at every call, "
                                 f"so recursion cannot end", call.loc)


def _find_cycle(name: str, edges: dict[str, list[ast.Call]], state: dict[str, int],
                path: list[str]) -> tuple[list[str], ast.Call] | None:
    """Depth-first search; ``state`` is 1 while on the path and 2 when done."""
    if state.get(name) == 2:
        return None
    state[name] = 1
    path.append(name)
    for call in edges.get(name, []):
        if state.get(call.func) == 1:
            return path[path.index(call.func):] + [call.func], call
        found = _find_cycle(call.func, edges, state, path)
        if found is not None:
            return found
    path.pop()
    state[name] = 2
    return None

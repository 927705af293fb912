"""Text to AST: ``grammar.lark`` parsed LALR(1) with the transformer inline (so deep nesting cannot exhaust Python's
stack); every failure is an ``LsrlSyntaxError`` with a location and a caret, no lark exception escapes."""
from __future__ import annotations

import re
import threading
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from automata.bounded_input import read_text
from automata.errors import LsrlInputError
from lsrl.lang import ast
from lsrl.lang.errors import Location, LsrlError, LsrlSyntaxError

GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_EXPONENT = 400
MAX_SOURCE_BYTES = 2**24  # a program file larger than 16 MiB is refused before parsing

_DESCRIBED = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string", "$END": "end of input"}


def parse_file(path: str | Path) -> ast.Program:
    """Parse the lsrl source file at ``path``."""
    path = Path(path)
    if not path.exists():
        raise LsrlSyntaxError(f"no such file: {path}")
    try:
        text = read_text(path, "program", MAX_SOURCE_BYTES)
    except LsrlInputError as err:
        raise LsrlSyntaxError(str(err)) from None
    return parse_text(text, str(path))


def parse_text(text: str, file: str = "<string>") -> ast.Program:
    """Parse lsrl source ``text``; ``file`` is the name used in locations."""
    _FILE.name = file
    try:
        items = _parser().parse(text)
    except UnexpectedInput as err:
        raise _from_lark(err, file, text) from None
    except LarkError as err:
        raise _syntax_error(f"malformed program: {err}", Location(file, 1, 1), text) from None
    except LsrlError as err:
        raise _with_line(err, text) from None
    return ast.Program(file, text, tuple(items))


class _FileName(threading.local):
    """The file name the inline transformer stamps into locations, set per thread for each parse."""

    name = "<string>"


_FILE = _FileName()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", lexer="basic", maybe_placeholders=True,
                transformer=_ToAst())


def _describe(terminal: str) -> str:
    if terminal in _DESCRIBED:
        return _DESCRIBED[terminal]
    for term in _parser().terminals:
        if term.name == terminal and term.pattern.type == "str":
            return repr(term.pattern.value).replace("'", '"')
    return terminal


def _from_lark(err: UnexpectedInput, file: str, text: str) -> LsrlSyntaxError:
    """Translate lark's positioned errors into an ``LsrlSyntaxError`` naming what was expected."""
    line, col = _position(err, text)
    location = Location(file, line, col)
    if isinstance(err, UnexpectedCharacters):
        return _syntax_error(f"unexpected character {err.char!r}", location, text)
    expected = sorted({_describe(t) for t in getattr(err, "expected", ()) or ()})
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        found = f"unexpected {err.token.value!r}"
    else:
        found = "unexpected end of input"
    if expected:
        found += f"; expected {', '.join(expected[:-1]) + ' or ' if len(expected) > 1 else ''}{expected[-1]}"
    return _syntax_error(found, location, text)


def _position(err: UnexpectedInput, text: str) -> tuple[int, int]:
    """Lark gives no position for end of input; point just past the last visible character then."""
    line, col = getattr(err, "line", -1), getattr(err, "column", -1)
    at_end = isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END")
    if at_end or line is None or line < 1 or col is None or col < 1:
        lines = text.rstrip().split("\n")
        return len(lines), len(lines[-1]) + 1
    return line, col


def _syntax_error(message: str, location: Location, text: str) -> LsrlSyntaxError:
    return _with_line(LsrlSyntaxError(message, location), text)


def _with_line(err: LsrlError, text: str) -> LsrlError:
    if err.location is not None:
        lines = text.split("\n")
        if 1 <= err.location.line <= len(lines):
            err.with_source(lines[err.location.line - 1])
    return err


def _loc(token: Token) -> Location:
    return Location(_FILE.name, token.line or 1, token.column or 1)


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE]([+-]?[0-9]+))?")


def _number(token: Token) -> Fraction:
    """Read a numeric literal exactly; refuse exponents and digit strings too large to be meant."""
    exponent = _NUMBER.fullmatch(token).group(1)
    if exponent is not None and abs(int(exponent)) > MAX_EXPONENT:
        raise LsrlSyntaxError(f"exponent of {token!s} is out of range (at most {MAX_EXPONENT})", _loc(token))
    try:
        return Fraction(str(token))
    except ValueError:
        raise LsrlSyntaxError("number literal too long", _loc(token)) from None


class _ToAst(Transformer):
    """Parse-tree rules to ``lsrl.lang.ast`` nodes, run inline by the LALR parser; positions come from tokens."""

    def start(self, items):
        return list(items)

    def use(self, children):
        (token,) = children
        if token.type == "STRING":
            return ast.Use(_loc(token), str(token)[1:-1], True)
        return ast.Use(_loc(token), str(token), False)

    def input(self, children):
        name, spec = children
        return ast.InputDecl(_loc(name), str(name), spec)

    def constant(self, children):
        name, value = children
        return ast.ParamDecl(_loc(name), str(name), value)

    def conditional(self, children):
        then, condition, otherwise = children
        return ast.Conditional(condition.loc, condition, then, otherwise)

    def comprehension(self, children):
        bracket, item, name, values = children
        return ast.Comprehension(_loc(bracket), item, str(name), values)

    def let(self, children):
        name, value = children
        return ast.Let(_loc(name), str(name), value)

    def output(self, children):
        name, value = children
        return ast.OutputDecl(_loc(name), str(name), value)

    def macro(self, children):
        name, params, (body, result) = children
        return ast.Def(_loc(name), str(name), tuple(params or ()), body, result)

    def params(self, children):
        return [p for p in children if p is not None]

    def param(self, children):
        name, default = children
        return ast.Param(str(name), default, _loc(name))

    def expr_body(self, children):
        (result,) = children
        return (), result

    def block_body(self, children):
        return tuple(children[:-1]), children[-1]

    def binary(self, children):
        left, op, right = children
        return ast.Binary(_loc(op), str(op), left, right)

    def neg(self, children):
        op, operand = children
        return ast.Unary(_loc(op), "-", operand)

    def index(self, children):
        target, bracket, index = children
        return ast.Index(_loc(bracket), target, index)

    def slice(self, children):
        target, bracket, start, stop = children
        return ast.SliceExpr(_loc(bracket), target, start, stop)

    def number(self, children):
        (token,) = children
        return ast.Number(_loc(token), _number(token))

    def string(self, children):
        (token,) = children
        return ast.String(_loc(token), str(token)[1:-1])

    def name(self, children):
        (token,) = children
        return ast.Name(_loc(token), str(token))

    def call(self, children):
        name, args = children
        args = args or []
        first_keyword = next((i for i, a in enumerate(args) if isinstance(a, ast.Keyword)), len(args))
        late = [a for a in args[first_keyword:] if isinstance(a, ast.Expr)]
        if late:
            raise LsrlSyntaxError("positional argument after a keyword argument", late[0].loc)
        return ast.Call(_loc(name), str(name), tuple(args[:first_keyword]), tuple(args[first_keyword:]))

    def list(self, children):
        bracket, items = children
        return ast.ListLit(_loc(bracket), tuple(items or ()))

    def items(self, children):
        return [c for c in children if c is not None]

    def args(self, children):
        return [c for c in children if c is not None]

    def kwarg(self, children):
        name, value = children
        return ast.Keyword(str(name), value, _loc(name))

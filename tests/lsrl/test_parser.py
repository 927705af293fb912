"""The parser: each construct to its AST, precedence, locations, and located syntax errors."""
from __future__ import annotations

from fractions import Fraction

import pytest

from automata.errors import LsrlInputError
from lsrl.lang import ast
from lsrl.lang.errors import Location, LsrlSyntaxError
from lsrl.lang.parser import parse_file, parse_text


def expr(text: str) -> ast.Expr:
    """The expression of ``let e = text``."""
    (item,) = parse_text(f"let e = {text}").items
    assert isinstance(item, ast.Let)
    return item.value


def shape(e: ast.Expr | None) -> object:
    """An expression without locations, as nested tuples, to compare trees."""
    if e is None:
        return None
    if isinstance(e, ast.Number):
        return e.value
    if isinstance(e, (ast.Name, ast.String)):
        return e.id if isinstance(e, ast.Name) else repr(e.value)
    if isinstance(e, ast.Binary):
        return (e.op, shape(e.left), shape(e.right))
    if isinstance(e, ast.Unary):
        return ("neg", shape(e.operand))
    if isinstance(e, ast.Index):
        return ("[]", shape(e.target), shape(e.index))
    if isinstance(e, ast.SliceExpr):
        return ("[:]", shape(e.target), shape(e.start), shape(e.stop))
    if isinstance(e, ast.ListLit):
        return ("list", *map(shape, e.items))
    assert isinstance(e, ast.Call)
    return ("call", e.func, *map(shape, e.args), *((k.name, shape(k.value)) for k in e.kwargs))


def test_items_of_every_kind() -> None:
    program = parse_text(
        'use logic\nuse "lib/my.lsrl"\ninput x : 3\ninput s : symbols("a", "b")\nlet y = x\n'
        "output z = y\noutput y\ndef f(a, mu = 2) = a * mu\ndef g(a) { let b = a + 1 return b }\n", "p.lsrl")
    kinds = [type(i).__name__ for i in program.items]
    assert kinds == ["Use", "Use", "InputDecl", "InputDecl", "Let", "OutputDecl", "OutputDecl", "Def", "Def"]
    use_std, use_file = program.items[:2]
    assert (use_std.module, use_std.is_path) == ("logic", False)
    assert (use_file.module, use_file.is_path) == ("lib/my.lsrl", True)
    assert program.items[6].value is None
    f, g = program.items[7:]
    assert [(p.name, shape(p.default)) for p in f.params] == [("a", None), ("mu", 2)]
    assert [let.name for let in g.body] == ["b"] and shape(g.result) == "b"


@pytest.mark.parametrize("text, tree", [
    ("1 + 2 * 3", ("+", 1, ("*", 2, 3))),
    ("1 - 2 - 3", ("-", ("-", 1, 2), 3)),
    ("A @ x + b", ("+", ("@", "A", "x"), "b")),
    ("2 * A @ x", ("@", ("*", 2, "A"), "x")),
    ("-x[0] * 2", ("*", ("neg", ("[]", "x", 0)), 2)),
    ("- - x", ("neg", ("neg", "x"))),
    ("(1 + 2) * 3", ("*", ("+", 1, 2), 3)),
    ("1/3", ("/", 1, 3)),
    ("7 % 3 + 1", ("+", ("%", 7, 3), 1)),
    ("x[1:]", ("[:]", "x", 1, None)),
    ("x[:2][0]", ("[]", ("[:]", "x", None, 2), 0)),
    ("x[:]", ("[:]", "x", None, None)),
    ("[[1, 0], [0, 1],]", ("list", ("list", 1, 0), ("list", 0, 1))),
    ('f(x, "s", mu = 3)', ("call", "f", "x", "'s'", ("mu", 3))),
    ("f()", ("call", "f")),
    ("0.25 + 1e-2 + 2.5E3", ("+", ("+", Fraction(1, 4), Fraction(1, 100)), 2500)),
])
def test_precedence_and_literals(text: str, tree: object) -> None:
    assert shape(expr(text)) == tree


def test_newlines_and_comments_carry_no_meaning() -> None:
    one_line = parse_text("input x : 1 let y = x + 1 output y")
    spread = parse_text("# header\ninput x :\n  1  # dim\nlet y = x\n  + 1\noutput\n y\n")
    assert [shape(getattr(i, "value", None)) for i in one_line.items] == \
           [shape(getattr(i, "value", None)) for i in spread.items]


def test_keywords_are_not_prefixes_of_names() -> None:
    (item,) = parse_text("let letter = input_x + output2 + define").items
    assert item.name == "letter"
    assert shape(item.value) == ("+", ("+", "input_x", "output2"), "define")


def test_locations_point_at_names_and_operators() -> None:
    program = parse_text("input x : 2\n\nlet  y = x +  [1, 2]", "p.lsrl")
    decl, let = program.items
    assert decl.loc == Location("p.lsrl", 1, 7)
    assert let.loc == Location("p.lsrl", 3, 6)
    assert let.value.loc == Location("p.lsrl", 3, 12)
    assert let.value.right.loc == Location("p.lsrl", 3, 15)


@pytest.mark.parametrize("text, line, col, words", [
    ("let x = ", 1, 8, "end of input"),
    ("let x = 1 +* 2", 1, 12, "unexpected '*'"),
    ("input x : 3\nlet y = x $ 2", 2, 11, "unexpected character '$'"),
    ("let = 3", 1, 5, 'expected a name'),
    ("let x = f(a = 1, 2)", 1, 18, "positional argument after a keyword"),
    ("let x = 1e999", 1, 9, "exponent"),
    ("let x = " + "1" * 5000, 1, 9, "too long"),
    ("def f() { let a = 1 }", 1, 21, '"return"'),
    ('let s = "open', 1, 9, "unexpected character"),
    ("letx = 1", 1, 1, "unexpected 'letx'"),
    ("x = 1", 1, 1, '"let"'),
])
def test_syntax_errors_are_located(text: str, line: int, col: int, words: str) -> None:
    with pytest.raises(LsrlSyntaxError) as info:
        parse_text(text, "bad.lsrl")
    err = info.value
    assert err.location == Location("bad.lsrl", line, col)
    assert words in str(err)
    message, source, caret = str(err).split("\n")
    assert message.startswith(f"bad.lsrl:{line}:{col}: ")
    if len(text.split("\n")[line - 1]) <= 100:
        assert source == "  " + text.split("\n")[line - 1] and caret == " " * (col + 1) + "^"
    else:
        assert source.endswith("...") and len(source) < 120
    assert isinstance(err, LsrlInputError)


def test_caret_sits_under_the_column() -> None:
    with pytest.raises(LsrlSyntaxError) as info:
        parse_text("let y = (1 + ) * 2")
    _, source, caret = str(info.value).split("\n")
    assert source[caret.index("^")] == ")"


def test_parse_file_reads_and_reports_files(tmp_path) -> None:
    good = tmp_path / "good.lsrl"
    good.write_text("input x : 1\noutput y = x\n")
    assert parse_file(good).file == str(good)
    bad = tmp_path / "bad.lsrl"
    bad.write_text("input x :\n")
    with pytest.raises(LsrlSyntaxError, match=r"bad\.lsrl:1:10: unexpected end of input"):
        parse_file(bad)
    with pytest.raises(LsrlSyntaxError, match="no such file"):
        parse_file(tmp_path / "missing.lsrl")
    binary = tmp_path / "binary.lsrl"
    binary.write_bytes(b"let x = \xff\xfe")
    with pytest.raises(LsrlSyntaxError, match="not UTF-8"):
        parse_file(binary)

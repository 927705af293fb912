"""Parser fuzzing: random text, token soup and mutated real programs either parse or raise the
documented ``LsrlSyntaxError``; programs that parse then check or raise an ``LsrlError``.
Generated well-formed expressions parse back to the tree they were printed from."""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsrl.lang import ast
from lsrl.lang.check import check
from lsrl.lang.errors import LsrlError, LsrlSyntaxError
from lsrl.lang.parser import parse_text

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("examples/*.lsrl"), *ROOT.glob("lsrl/lang/stdlib/*.lsrl")])
TOKENS = ["let", "input", "output", "def", "use", "return", "x", "y", "f", "relu", "lti", "concat", "(", ")",
          "[", "]", "{", "}", ",", ":", "=", "+", "-", "*", "/", "@", "%", "1", "1/3", "0.5", "2e3", '"s"',
          "\n", "# c\n", " ", "logic", "identity(2)", "x[0]", "[1, 2]"]
RUNS = [pytest.param(40, id="quick"), pytest.param(3000, id="long", marks=pytest.mark.slow)]


def fuzz(strategy: st.SearchStrategy, prop: Callable[..., None], examples: int) -> None:
    """Run ``prop`` on ``examples`` draws of ``strategy``."""
    settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])(
        given(strategy)(prop))()


def parses_or_fails_cleanly(text: str, file: str = "fuzz.lsrl") -> ast.Program | None:
    """The property: a Program, or an LsrlSyntaxError located inside the text with a caret line."""
    try:
        return parse_text(text, file)
    except LsrlSyntaxError as err:
        assert err.location is not None and err.location.file == file
        lines = text.split("\n")
        assert 1 <= err.location.line <= len(lines)
        assert str(err).startswith(f"{file}:{err.location.line}:{err.location.col}: ")
        assert "^" in str(err).split("\n")[-1]
        return None


def checks_or_fails_cleanly(program: ast.Program) -> None:
    try:
        check(program)
    except LsrlError as err:
        assert str(err)


def parse_then_check(case: tuple[str, str]) -> None:
    """The whole property on (file name, text)."""
    file, text = case
    program = parses_or_fails_cleanly(text, file)
    if program is not None:
        checks_or_fails_cleanly(program)


@pytest.mark.parametrize("examples", RUNS)
def test_random_text(examples: int) -> None:
    fuzz(st.text(max_size=300).map(lambda t: ("fuzz.lsrl", t)), parse_then_check, examples)


@pytest.mark.parametrize("examples", RUNS)
def test_token_soup(examples: int) -> None:
    soup = st.tuples(st.lists(st.sampled_from(TOKENS), max_size=60), st.sampled_from(["", " "]))
    fuzz(soup.map(lambda t: ("fuzz.lsrl", t[1].join(t[0]))), parse_then_check, examples)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A real program with a few random edits: deletions, insertions, duplications, replacements."""
    path = draw(st.sampled_from(SOURCES))
    text = path.read_text()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        edit = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS) | st.text(max_size=3)) + text[i:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
    return str(path), text


@pytest.mark.parametrize("examples", RUNS)
def test_mutated_programs(examples: int) -> None:
    fuzz(mutated(), parse_then_check, examples)


@pytest.mark.parametrize("depth", [10, 3000])
@pytest.mark.parametrize("wrap", [("(", ")"), ("-", ""), ("[", "]"), ("f(", ")"), ("x[", "]")])
def test_deep_nesting_never_overflows(depth: int, wrap: tuple[str, str]) -> None:
    parse_then_check(("fuzz.lsrl", "input x : 1\noutput y = " + wrap[0] * depth + "1" + wrap[1] * depth))


names = st.sampled_from(["x", "y", "abc", "w_2"])
numbers = st.fractions(min_value=0, max_value=1000, max_denominator=1).map(int) | st.sampled_from(["0.25", "3e2"])
leaves = st.one_of(names, numbers.map(str))


def _expressions() -> st.SearchStrategy[str]:
    """Well-formed expression texts, fully parenthesised so that their tree is known."""
    return st.recursive(leaves, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/@%"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"(-{e})"),
        st.tuples(names, st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
    ), max_leaves=12)


def render(e: ast.Expr) -> str:
    """Print an expression back, fully parenthesised, in the grammar of ``_expressions``."""
    if isinstance(e, ast.Number):
        return str(e.value) if e.value.denominator == 1 else f"({e.value.numerator} / {e.value.denominator})"
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Binary):
        return f"({render(e.left)} {e.op} {render(e.right)})"
    if isinstance(e, ast.Unary):
        return f"(-{render(e.operand)})"
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(map(render, e.args))})"
    if isinstance(e, ast.ListLit):
        return f"[{', '.join(map(render, e.items))}]"
    assert isinstance(e, ast.Index)
    return f"({render(e.target)})[{render(e.index)}]"


def _normal(text: str) -> str:
    """Decimal literals as the integers or fractions they denote, as ``render`` prints them."""
    for literal, value in (("0.25", Fraction(1, 4)), ("3e2", Fraction(300))):
        text = text.replace(literal, str(value) if value.denominator == 1 else f"({value.numerator} / {value.denominator})")
    return text


def parses_back(text: str) -> None:
    (item,) = parse_text(f"let e = {text}").items
    assert render(item.value) == _normal(text)


@pytest.mark.parametrize("examples", RUNS)
def test_printed_expressions_parse_back(examples: int) -> None:
    fuzz(_expressions(), parses_back, examples)

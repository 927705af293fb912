"""Inputs and outputs as text for ``lsrl run --input-str``."""
from __future__ import annotations

import re
from fractions import Fraction as F

import pytest

from lsrl.lang.check import check
from lsrl.lang.errors import InputValueError
from lsrl.lang.interpreter import interpret
from lsrl.lang.parser import parse_text
from lsrl.lang.textio import encode_text, format_outputs


def program(decls: str):
    return check(parse_text(f"{decls}\noutput y = 1"))


def test_symbols_of_one_character() -> None:
    encoded = encode_text(program('input x : symbols("a", "b", "c")'), "ab c\na")
    assert encoded["x"].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]


def test_symbols_of_several_characters_are_separated_by_whitespace() -> None:
    encoded = encode_text(program('input x : symbols("set0", "set1", "read")'), "set1 read  set0")
    assert encoded["x"].tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]


def test_numbers_are_split_among_inputs_in_order() -> None:
    encoded = encode_text(program("input a : 1\ninput b : 2"), "1,-1/3,0.25  2,0,1e1")
    assert encoded["a"].tolist() == [[1], [2]]
    assert encoded["b"].tolist() == [[F(-1, 3), F(1, 4)], [0, 10]]


def test_empty_text_is_an_empty_sequence() -> None:
    assert encode_text(program("input a : 2"), "  ")["a"].shape == (0, 2)


@pytest.mark.parametrize("decls, text, words", [
    ('input x : symbols("a", "b")', "abz", "symbol 'z' at position 2"),
    ("input a : 2", "1,2 3", "step 1 ('3') has 1 values"),
    ("input a : 1", "1/0", "divides by zero"),
    ("input a : 1", "one", "not a number"),
    ('input a : 1\ninput x : symbols("a")', "1,a", "several inputs"),
])
def test_bad_text(decls: str, text: str, words: str) -> None:
    with pytest.raises(InputValueError, match=re.escape(words)):
        encode_text(program(decls), text)


def test_outputs_print_one_line_per_step() -> None:
    compiled = check(parse_text("input a : 2\noutput s = lti(a, identity(2), identity(2))\noutput h = a[0] / 3"))
    inputs = encode_text(compiled, "1,2 1,0")
    assert format_outputs(interpret(compiled, inputs)) == "1  s=[1, 2]  h=[1/3]\n2  s=[2, 2]  h=[1/3]"
    first = format_outputs(interpret(compiled, inputs, exact=False)).split("\n")[0]
    assert first == "1  s=[1.0, 2.0]  h=[0.3333333333333333]"

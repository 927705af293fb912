"""LSRL's programs ported to lsrl (examples/lsrl-paper/): with LSRL's own constants they compute what LSRL's
notebooks and tests say (the token map returns f(query) on random maps, the approximator the value of the query's
cell, the conditionals np.where), the float gate refuses LSRL's non-binary step scale 1/1000 as exact, and with
a power-of-two scale the compiled models are exact and right on random maps."""
from __future__ import annotations

import re
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsrl.compiler.errors import InexactInFloat
from lsrl.compiler.pipeline import CompiledProgram, compile_program
from lsrl.compiler.ranges import Interval, Lattice
from lsrl.lang.check import check_file
from lsrl.lang.graph import CheckedProgram
from lsrl.lang.interpreter import interpret

PAPER = Path(__file__).resolve().parents[2] / "examples" / "lsrl-paper"
SEQ_LEN = 3
MAX_KEYS = 4
MAX_LENGTH = SEQ_LEN + 2 * SEQ_LEN * MAX_KEYS
TOKENS = {"token": Interval(F(0), F(9), Lattice.of(F(1), F(0)))}


@lru_cache(maxsize=None)
def _program(name: str, **params: int) -> CheckedProgram:
    return check_file(PAPER / f"{name}.lsrl", {k: F(v) for k, v in params.items()})


@lru_cache(maxsize=None)
def _compiled(multiplicative: int, arch: str) -> CompiledProgram:
    program = _program("token_map", MULTIPLICATIVE=multiplicative, SCALE=1024, ROTATION=0)
    return compile_program(program, arch, TOKENS, MAX_LENGTH)


@st.composite
def _token_map(draw: st.DrawFn) -> tuple[list[int], tuple[int, ...]]:
    """A prompt (query, then key-value blocks of distinct keys over tokens 1..9) and the query's value."""
    word = st.tuples(*[st.integers(1, 9)] * SEQ_LEN)
    keys = draw(st.lists(word, min_size=1, max_size=MAX_KEYS, unique=True))
    values = [draw(word) for _ in keys]
    query = draw(st.integers(0, len(keys) - 1))
    return [*keys[query], *(t for k, v in zip(keys, values) for t in (*k, *v))], values[query]


def _answer(outputs: np.ndarray) -> list:
    return [outputs[-SEQ_LEN + i][0] for i in range(SEQ_LEN)]


@settings(max_examples=10, deadline=None)
@given(case=_token_map(), multiplicative=st.sampled_from([0, 1]))
def test_the_token_map_with_lsrls_constants_is_right_on_random_maps(case, multiplicative: int) -> None:
    tokens, value = case
    program = _program("token_map", MULTIPLICATIVE=multiplicative)  # SCALE = 1000, 1e10, LSRL's rotation counters
    outputs = interpret(program, np.array(tokens, dtype=object).reshape(-1, 1))["answer"]
    assert _answer(outputs) == list(value)


def test_lsrls_step_scale_is_refused_as_exact_and_named() -> None:
    with pytest.raises(InexactInFloat) as info:
        compile_program(_program("token_map", MULTIPLICATIVE=1), "lti", TOKENS, MAX_LENGTH)
    message = str(info.value)
    assert re.search(r"its weight -?\d+/1000 is not a float64 number", message) and "in f_step(...) called at" in message


@settings(max_examples=6, deadline=None)
@given(case=_token_map(), multiplicative=st.sampled_from([0, 1]), arch=st.sampled_from(["lti", "elman", "deltaproduct"]))
def test_the_compiled_token_map_is_exact_and_right_on_random_maps(case, multiplicative: int, arch: str) -> None:
    tokens, value = case
    compiled = _compiled(multiplicative, arch)
    assert compiled.exact
    outputs = compiled.run(np.array(tokens, dtype=object).reshape(-1, 1), torch.float64)["answer"]
    assert _answer(outputs) == [float(v) for v in value]


@settings(max_examples=10, deadline=None)
@given(bits=st.lists(st.integers(0, 1), min_size=1, max_size=20))
def test_the_counter_says_whether_ones_lead(bits: list[int]) -> None:
    outputs = interpret(_program("more_ones_or_zeros"), np.array(bits, dtype=object).reshape(-1, 1))["more_ones"]
    want = [int(2 * sum(bits[:t + 1]) > t + 1) for t in range(len(bits))]
    assert [o[0] for o in outputs] == want


@settings(max_examples=10, deadline=None)
@given(x=st.tuples(*[st.integers(0, 63).filter(lambda v: v % 16)] * 2),
       values=st.lists(st.integers(-8, 8), min_size=16, max_size=16), multiplicative=st.sampled_from([0, 1]))
def test_the_continuous_approximator_returns_the_value_of_the_querys_cell(x, values: list[int], multiplicative: int) -> None:
    """Cells of width 1/4 on [0, 1)^2, the query on the 1/64 grid off the cell boundaries (LSRL's bump is 0 at its
    lower end, f_step(0) = 0): after the prompt, the value of its cell."""
    cells = [(i, j) for i in range(4) for j in range(4)]
    tokens = [[F(x[0], 64), F(x[1], 64), F(0), F(0)]]
    tokens += [[F(1, 4), F(i, 4), F(j, 4), F(v)] for (i, j), v in zip(cells, values)]
    outputs = interpret(_program("continuous", MULTIPLICATIVE=multiplicative), np.array(tokens, dtype=object))["y"]
    assert outputs[-1][0] == values[cells.index((x[0] // 16, x[1] // 16))]


@settings(max_examples=20, deadline=None)
@given(v=st.lists(st.integers(-3, 3), min_size=4, max_size=4))
def test_the_conditionals_are_np_where(v: list[int]) -> None:
    x, y, t, f = v
    out = {k: o[0][0] for k, o in interpret(_program("conditionals"), np.array([v], dtype=object)).items()}
    assert out == {"ifeq": t if x == y else f, "eq": t if x == y else f, "smaller": t if x < y else f,
                   "larger": t if x > y else f}

"""Every program in examples/ parses, checks and computes what its comments claim."""
from __future__ import annotations

import itertools
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.regex import regex_to_dfa
from automata.tasks import get_task
from lsrl.lang.check import check_file
from lsrl.lang.graph import CheckedProgram
from lsrl.lang.interpreter import interpret
from lsrl.lang.textio import encode_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROPERTY = settings(max_examples=12, deadline=None)
binary = st.text("01", min_size=1, max_size=20)


@lru_cache(maxsize=None)
def example(name: str) -> CheckedProgram:
    return check_file(EXAMPLES / f"{name}.lsrl")


def run_text(name: str, text: str, exact: bool = True) -> dict[str, np.ndarray]:
    program = example(name)
    return interpret(program, encode_text(program, text), exact=exact)


def column(values: np.ndarray) -> list[F]:
    return [v for [v] in values]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.lsrl")), ids=lambda p: p.stem)
def test_every_example_checks(path: Path) -> None:
    program = check_file(path)
    assert program.outputs and program.inputs


@pytest.mark.parametrize("name, text, output, expected", [
    ("counter", "0110111", "ones_lead", "[0] [0] [1] [0] [1] [1] [1]"),
    ("ifelse", "1,2,3 -1,4,5 0,6,7", "nested", "[2] [8] [27]"),
    ("parity", "0110111", "odd", "[0] [1] [0] [0] [1] [0] [1]"),
    ("mod_counter", "0111", "count_mod_k", "[1, 0, 0] [0, 1, 0] [0, 0, 1] [1, 0, 0]"),
    ("mod_counter", "0111", "quarter_turns", "[1, 0] [0, 1] [-1, 0] [0, -1]"),
    ("automaton", "aababb", "a_count_mod_3", "[0, 1, 0] [0, 0, 1] [0, 0, 1] [1, 0, 0] [1, 0, 0] [1, 0, 0]"),
    ("automaton", "aababb", "divisible_no_bb_after_3", "[0] [0] [0] [1] [1] [0]"),
    ("token_map", "2 1  1 1 3 3  2 1 1 2  1 2 2 3", "answer",
     "[0, 0] [0, 0] [0, 0] [0, 0] [0, 0] [0, 0] [0, 0] [0, 0] [1, 0] [1, 2] [1, 2] [1, 2] [1, 2] [1, 2]"),
    ("universal_continuous", "3/100,99/100,0 0,0,1 0,3/4,7 1/4,3/4,5", "approximation", "[0] [0] [7] [7]"),
])
def test_concrete_runs(name: str, text: str, output: str, expected: str) -> None:
    got = run_text(name, text)[output]
    assert " ".join("[" + ", ".join(str(v) for v in row) + "]" for row in got) == expected


@PROPERTY
@given(binary)
def test_counter(word: str) -> None:
    out = run_text("counter", word)
    for t in range(len(word)):
        zeros, ones = word[:t + 1].count("0"), word[:t + 1].count("1")
        assert (out["zeros_seen"][t, 0], out["ones_seen"][t, 0], out["steps"][t, 0]) == (zeros, ones, t + 1)
        assert out["ones_lead"][t, 0] == int(ones > zeros)


@PROPERTY
@given(st.lists(st.tuples(st.integers(-3, 3), st.fractions(-100, 100, max_denominator=9),
                          st.fractions(-100, 100, max_denominator=9)), min_size=1, max_size=10))
def test_ifelse(steps: list[tuple[int, F, F]]) -> None:
    out = interpret(example("ifelse"), [list(s) for s in steps])
    sums = np.zeros(3, dtype=object) + F(0)
    for t, (c, a, b) in enumerate(steps):
        sums = sums + np.array([a, b, a + b], dtype=object)
        assert out["gated"][t, 0] == out["relu_only"][t, 0] == (a if c > 0 else b)
        assert out["nested"][t, 0] == (sums[0] if c > 0 else sums[1] if c < 0 else sums[2])


DELTA = F(1, 4)
CELLS = [(i * DELTA, j * DELTA) for i in range(4) for j in range(4)]


@PROPERTY
@given(st.tuples(st.integers(0, 99), st.integers(0, 99)), st.lists(st.fractions(-5, 5, max_denominator=4),
       min_size=3, max_size=3), st.permutations(range(16)))
def test_universal_continuous(query: tuple[int, int], coefficients: list[F], order: list[int]) -> None:
    """After the prompt the output is f at the corner of the query's cell, whatever the cells'
    order; for f(x, y) = a x + b y + c x y it is within (|a| + |b| + |c|) * 2 * DELTA of f(query)."""
    a, b, c = coefficients
    f = lambda x, y: a * x + b * y + c * x * y  # noqa: E731
    x = (F(query[0], 100), F(query[1], 100))
    prompt = [[*CELLS[i], f(*CELLS[i])] for i in order]
    out = column(interpret(example("universal_continuous"), [[*x, 0], *prompt])["approximation"])
    corner = (x[0] // DELTA * DELTA, x[1] // DELTA * DELTA)
    assert out[-1] == f(*corner)
    assert abs(out[-1] - f(*x)) <= (abs(a) + abs(b) + abs(c)) * 2 * DELTA
    hit = [CELLS[i] for i in order].index(corner) + 1
    assert set(out[:hit]) == {0} and set(out[hit:]) == {f(*corner)}


def test_universal_continuous_concrete() -> None:
    f = lambda x, y: x * x + y  # noqa: E731
    query = [F(3, 100), F(99, 100), 0]
    out = interpret(example("universal_continuous"), [query, *([*c, f(*c)] for c in CELLS)])["approximation"]
    assert out[-1, 0] == F(3, 4)


V = (1, 2, 3)
KEYS = list(itertools.product(V, V))


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(V), st.sampled_from(V)), min_size=9, max_size=9),
       st.permutations(range(9)), st.sampled_from(KEYS))
def test_token_map(values: list[tuple[int, int]], order: list[int], query: tuple[int, int]) -> None:
    """With the query first and the table in any order, the output after the prompt is f(query),
    and it stays zero until the block holding the query's key."""
    f = dict(zip(KEYS, values))
    tokens = [*query, *(t for i in order for t in (*KEYS[i], *f[KEYS[i]]))]
    out = interpret(example("token_map"), [[t] for t in tokens])["answer"]
    assert list(out[-1]) == list(f[query])
    block_end = 2 + 4 * ([KEYS[i] for i in order].index(query) + 1)
    assert (out[:block_end - 2] == 0).all()


@PROPERTY
@given(binary)
def test_parity_matches_the_parity_task(word: str) -> None:
    task = get_task("parity")
    out = run_text("parity", word)
    assert column(out["odd"]) == list(task.labels[task.dfa.trace(word)])
    assert run_text("parity", word, exact=False)["odd"].tolist() == out["odd"].astype(float).tolist()


@PROPERTY
@given(binary)
def test_mod_counter(word: str) -> None:
    out = run_text("mod_counter", word)
    turns = {0: (1, 0), 1: (0, 1), 2: (-1, 0), 3: (0, -1)}
    for t in range(len(word)):
        ones = word[:t + 1].count("1")
        assert list(out["count_mod_k"][t]) == [int(i == ones % 3) for i in range(3)]
        assert out["divisible"][t, 0] == int(ones % 3 == 0)
        assert tuple(out["quarter_turns"][t]) == turns[ones % 4]
    floats = run_text("mod_counter", word, exact=False)
    assert floats["count_mod_k"].tolist() == out["count_mod_k"].astype(float).tolist()


@PROPERTY
@given(st.text("ab", min_size=1, max_size=20))
def test_automata_in_a_program(word: str) -> None:
    task, no_bb = get_task("mod:3"), regex_to_dfa("(b?a)*b?", ("a", "b"))
    out = run_text("automaton", word)
    labels = task.labels[task.dfa.trace(word)]
    assert out["a_count_mod_3"].argmax(axis=1).tolist() == labels.tolist()
    for t in range(len(word)):
        prefix = word[:t + 1]
        expected = prefix.count("a") % 3 == 0 and "bb" not in prefix and t + 1 >= 3
        assert no_bb.accepts(prefix) == ("bb" not in prefix)
        assert out["divisible_no_bb_after_3"][t, 0] == int(expected)
    floats = run_text("automaton", word, exact=False)
    assert all(floats[name].tolist() == out[name].astype(float).tolist() for name in out)


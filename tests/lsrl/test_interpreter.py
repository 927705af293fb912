"""The reference interpreter: each primitive against hand-computed values, exact against float64,
batches against single sequences, the standard library on its input spaces, and bad inputs."""
from __future__ import annotations

import tempfile
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.fileformat import save_dfa
from automata.strategies import dfas, strings
from lsrl.lang.check import check
from lsrl.lang.errors import InputValueError
from lsrl.lang.graph import CheckedProgram
from lsrl.lang.interpreter import evaluate, interpret
from lsrl.lang.parser import parse_text
from lsrl.lang.strategies import programs, sequences

PROPERTY = settings(max_examples=15, deadline=None)


@lru_cache(maxsize=None)
def program(outputs: str, inputs: str = "x : 1") -> CheckedProgram:
    """A program using the standard library, with inputs ``name : dim; ...`` and ``outputs``."""
    decls = "".join(f"input {decl}\n" for decl in inputs.split(";"))
    return check(parse_text(f"use logic\nuse compare\nuse counters\n{decls}{outputs}\n"))


def run(outputs: str, inputs: str = "x : 1", exact: bool = True, **values: object) -> dict[str, np.ndarray]:
    return interpret(program(outputs, inputs), values, exact=exact)


def rows(array: np.ndarray) -> list[list[str]]:
    return [[str(v) for v in row] for row in array]


rationals = st.fractions(min_value=-50, max_value=50, max_denominator=12)
integers = st.integers(-6, 6).map(F)
bits = st.sampled_from([F(0), F(1)])


def column(elements: st.SearchStrategy, size: int = 12) -> st.SearchStrategy[list[list[F]]]:
    return st.lists(elements.map(lambda v: [v]), min_size=1, max_size=size)


# -- primitives against hand-computed values --------------------------------------------------------


def test_affine() -> None:
    out = run("output y = [[1, 2], [0, -1]] @ x + [1/2, 0]", "x : 2", x=[[1, 1], [2, -1]])["y"]
    assert rows(out) == [["7/2", "-1"], ["1/2", "1"]]


def test_relu_multiply_concat_slice() -> None:
    out = run("output r = relu(x)\noutput m = x * ([[0, 1], [1, 0]] @ x)\noutput g = x[0] * x\n"
              "output c = concat(x[1], 7, x[0:1])", "x : 2", x=[[-1, F(2, 3)], [3, -2]])
    assert rows(out["r"]) == [["0", "2/3"], ["3", "0"]]
    assert rows(out["m"]) == [["-2/3", "-2/3"], ["-6", "-6"]]
    assert rows(out["g"]) == [["1", "-2/3"], ["9", "-6"]]
    assert rows(out["c"]) == [["2/3", "7", "-1"], ["-2", "7", "3"]]


def test_lti_state() -> None:
    out = run("output s = lti(x, [[1, 1], [0, 1]], [[0], [1]], init = [0, 5])", x=[[1], [1], [-1]])["s"]
    # s1 = (0 + 5, 5 + 1), s2 = (5 + 6, 6 + 1), s3 = (11 + 7, 7 - 1)
    assert rows(out) == [["5", "6"], ["11", "7"], ["18", "6"]]


def test_diagonal_state() -> None:
    out = run("output s = diagonal(x, 1, init = 2)", x=[[F(1, 2)], [3], [0]])["s"]
    assert rows(out) == [["2"], ["7"], ["1"]]


def test_delta_state_one_factor() -> None:
    # S1 = S0 + 1/2 (1, 1)^T (2 - 1) ; S2 = S1 + (1, -1)^T (0 - (3/2 - 1/2)).
    out = run("output s = delta(x[0:2], x[2:3], x[3:4], init = [[1], [0]])", "x : 4",
              x=[[1, 1, 2, F(1, 2)], [1, -1, 0, 1]])["s"]
    assert rows(out) == [["3/2", "1/2"], ["1/2", "3/2"]]


@PROPERTY
@given(st.lists(st.lists(rationals, min_size=8, max_size=8), min_size=1, max_size=5))
def test_delta_state_two_factors_is_two_updates(steps: list[list[F]]) -> None:
    """``factors = 2`` applies (k1, v1, beta1) then (k2, v2, beta2), with S as a 2x1 matrix."""
    out = run("output s = delta(concat(x[0:2], x[2:4]), x[4:6], x[6:8], factors = 2)", "x : 8", x=steps)["s"]
    state = np.zeros((2, 1), dtype=object) + F(0)
    for step, got in zip(steps, out):
        for k, v, beta in ((step[0:2], step[4], step[6]), (step[2:4], step[5], step[7])):
            k = np.array(k, dtype=object).reshape(2, 1)
            state = state - beta * k @ (k.T @ state) + beta * k * v
        assert list(got) == list(state.reshape(-1))


@PROPERTY
@given(st.data())
def test_automaton_state_is_the_one_hot_of_the_dfa_state(data: st.DataObject) -> None:
    dfa = data.draw(dfas(max_states=6, max_symbols=3))
    word = data.draw(strings(dfa, min_size=1, max_size=15))
    with tempfile.TemporaryDirectory() as folder:
        save_dfa(dfa, Path(folder) / "d.json")
        text = 'let D = dfa_file("d.json")\ninput x : alphabet(D)\noutput s = automaton(D, x)\n'
        compiled = check(parse_text(text, str(Path(folder) / "p.lsrl")))
    onehots = np.eye(dfa.n_symbols, dtype=np.int64)[dfa.encode(word)]
    out = interpret(compiled, onehots)["s"]
    assert out.argmax(axis=1).tolist() == dfa.trace(word).tolist()
    assert (out.sum(axis=1) == 1).all()
    node = compiled.output("s")
    m, s = node.transition_matrices(), np.array(node.init(), dtype=object)
    for x, got in zip(onehots, out):
        s = np.tensordot(x, m, axes=1) @ s
        assert list(s) == list(got)


def test_automaton_on_mixed_symbols_is_linear() -> None:
    """A non-one-hot input mixes the transitions: s_t = (sum_a x[a] M_a) s_{t-1}."""
    out = run('let D = task("parity")\noutput s = automaton(D, x)', "x : 2", x=[[F(1, 2), F(1, 2)], [F(1, 3), 0]])["s"]
    assert rows(out) == [["1/2", "1/2"], ["1/6", "1/6"]]


# -- exact against float64, batches, all nodes ------------------------------------------------------

MIXED = ("let g = relu([[1, -1, 1/2], [1/3, 1, 0]] @ x - 1/4)\n"
         "let s = lti(g, [[1/2, 1/4], [0, -1/2]], identity(2), init = [1, -1])\n"
         "let d = diagonal(x[0:2] / 8, g, init = 1/3)\n"
         "let h = delta(x[0:2], g, x[2] / 4)\n"
         "output y = concat(s * d, h, sum(x) * g)")


@PROPERTY
@given(st.lists(st.lists(st.fractions(-3, 3, max_denominator=7), min_size=3, max_size=3), min_size=1, max_size=8))
def test_exact_and_float_agree(steps: list[list[F]]) -> None:
    """Every primitive but the automaton is continuous, so float64 tracks the exact values; on these
    magnitudes (below 1e3, at most 8 steps) the rounding stays far below the tolerance."""
    exact = run(MIXED, "x : 3", x=steps)["y"]
    approx = run(MIXED, "x : 3", exact=False, x=[[float(v) for v in s] for s in steps])["y"]
    assert approx.dtype == np.float64 and all(isinstance(v, F) for v in exact.reshape(-1))
    np.testing.assert_allclose(approx, exact.astype(np.float64), rtol=1e-9, atol=1e-9)


@PROPERTY
@given(st.data())
def test_random_programs_agree_in_exact_and_float(data: st.DataObject) -> None:
    """Every node of a random program, within 1e-9 of the largest magnitude any node reaches
    (the rounding of a few dozen operations on these magnitudes is below 1e-12 of it)."""
    compiled = check(parse_text(data.draw(programs())))
    inputs = data.draw(sequences({i.name: i.dim for i in compiled.inputs}, min_length=1))
    exact = evaluate(compiled, inputs)
    approx = evaluate(compiled, {k: [[float(v) for v in step] for step in seq] for k, seq in inputs.items()},
                      exact=False)
    scale = max(1, *(abs(float(v)) for values in exact.values() for v in values.reshape(-1)))
    for node, values in exact.items():
        np.testing.assert_allclose(approx[node], values.astype(np.float64), rtol=1e-9, atol=1e-9 * scale)


@PROPERTY
@given(st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3), min_size=1, max_size=10))
def test_integer_programs_are_exact_in_float(steps: list[list[int]]) -> None:
    text = "output y = concat(count(x), relu(x[0] - x[1]) * time(x), eq(x[2], 0))"
    exact = run(text, "x : 3", x=steps)["y"]
    approx = run(text, "x : 3", exact=False, x=steps)["y"]
    assert approx.tolist() == exact.astype(np.float64).tolist()


@PROPERTY
@given(st.lists(st.lists(st.lists(st.integers(-9, 9).map(lambda n: F(n, 4)), min_size=3, max_size=3),
                         min_size=3, max_size=3), min_size=1, max_size=3))
def test_a_batch_is_its_sequences(batch: list[list[list[F]]]) -> None:
    together = run(MIXED, "x : 3", x=batch)["y"]
    assert together.shape[:2] == (len(batch), 3)
    for b, sequence in enumerate(batch):
        assert together[b].tolist() == run(MIXED, "x : 3", x=sequence)["y"].tolist()


def test_evaluate_gives_every_node() -> None:
    compiled = program("let h = relu(x - 1)\noutput y = 2 * h")
    values = evaluate(compiled, [[3], [0]])
    assert {compiled.labels[n]: rows(v) for n, v in values.items() if n in compiled.labels} == \
        {"x": [["3"], ["0"]], "h": [["2"], ["0"]], "y": [["4"], ["0"]]}


def test_empty_sequences_give_empty_outputs() -> None:
    out = run("output y = count(x)", x=np.zeros((0, 1)))["y"]
    assert out.shape == (0, 1)


@pytest.mark.parametrize("values, words", [
    ({"x": [[1, 2]]}, "dimension 1"),
    ({"x": [[1]], "z": [[1]]}, "no input 'z'"),
    ({}, "no value given"),
    ({"x": [["one"]]}, "not a finite number"),
    ({"x": [[float("nan")]]}, "not a finite number"),
])
def test_bad_inputs(values: dict, words: str) -> None:
    with pytest.raises(InputValueError, match=words):
        interpret(program("output y = x"), values, exact=not any("nan" in str(v) for v in values.values()))


def test_bad_inputs_across_several_inputs() -> None:
    compiled = program("output y = a + b", "a : 1; b : 1")
    with pytest.raises(InputValueError, match="pass a mapping"):
        interpret(compiled, [[1]])
    with pytest.raises(InputValueError, match="disagree"):
        interpret(compiled, {"a": [[1], [2]], "b": [[1]]})
    with pytest.raises(InputValueError, match="every input as a batch"):
        interpret(compiled, {"a": [[[1]]], "b": [[1]]})


# -- the standard library on its input spaces -------------------------------------------------------


@PROPERTY
@given(column(rationals), st.sampled_from([1, 4, 1000]))
def test_step(xs: list[list[F]], mu: int) -> None:
    out = run(f"output y = step(x, {mu})", x=xs)["y"]
    for [x], [y] in zip(xs, out):
        if x >= 0:
            assert y == 1
        elif x <= F(-1, mu):
            assert y == 0
        else:
            assert y == mu * x + 1


@PROPERTY
@given(st.lists(st.lists(bits, min_size=2, max_size=2), min_size=1, max_size=12))
def test_boolean_functions(pairs: list[list[F]]) -> None:
    out = run("output y = concat(and(a, b), or(a, b), xor(a, b), not(a), all(concat(a, b)), any(concat(a, b)))",
              "a : 1; b : 1", a=[[p[0]] for p in pairs], b=[[p[1]] for p in pairs])["y"]
    for (a, b), got in zip(pairs, out):
        a, b = int(a), int(b)
        assert list(got) == [a & b, a | b, a ^ b, 1 - a, a & b, a | b]


@PROPERTY
@given(st.lists(st.lists(bits, min_size=5, max_size=5), min_size=1, max_size=8))
def test_all_and_any_of_a_vector(vectors: list[list[F]]) -> None:
    out = run("output y = concat(all(x), any(x))", "x : 5", x=vectors)["y"]
    assert [list(map(int, row)) for row in out] == [[int(all(v)), int(any(v))] for v in vectors]


@PROPERTY
@given(st.lists(st.tuples(bits, rationals, rationals).map(list), min_size=1, max_size=10))
def test_ifelse_in_both_forms(steps: list[list[F]]) -> None:
    """The gated form is exact for all branches; the ReLU form while |t|, |f| <= lam (here 50)."""
    out = run("output y = concat(ifelse(x[0], x[1], x[2]), ifelse_relu(x[0], x[1], x[2], lam = 50),"
              " ifelse(x[0], x[1:3], 10 * x[1:3]))", "x : 3", x=steps)["y"]
    for (c, t, f), got in zip(steps, out):
        assert list(got) == [t if c else f, t if c else f, *((t, f) if c else (10 * t, 10 * f))]


COMPARISONS = {"ge": lambda x, y: x >= y, "le": lambda x, y: x <= y, "gt": lambda x, y: x > y,
               "lt": lambda x, y: x < y, "eq": lambda x, y: x == y, "ne": lambda x, y: x != y}


@PROPERTY
@given(st.lists(st.tuples(integers, integers).map(list), min_size=1, max_size=12))
def test_comparisons_on_integers(pairs: list[list[F]]) -> None:
    out = run(f"output y = concat({', '.join(f'{name}(x[0], x[1])' for name in COMPARISONS)}, "
              "between(x[0], x[1], x[1] + 3))", "x : 2", x=pairs)["y"]
    for (x, y), got in zip(pairs, out):
        assert list(got) == [int(p(x, y)) for p in COMPARISONS.values()] + [int(y <= x < y + 3)]


@PROPERTY
@given(st.lists(st.tuples(rationals, st.sampled_from([F(0), F(1, 100), F(-1, 100), F(7, 3), F(-1, 99)]))
                .map(lambda p: [p[0], p[0] + p[1]]), min_size=1, max_size=12))
def test_comparisons_on_rationals_apart_by_at_least_one_over_mu(pairs: list[list[F]]) -> None:
    out = run(f"output y = concat({', '.join(f'{name}(x[0], x[1], mu = 100)' for name in COMPARISONS)})",
              "x : 2", x=pairs)["y"]
    for (x, y), got in zip(pairs, out):
        assert list(got) == [int(p(x, y)) for p in COMPARISONS.values()]


@PROPERTY
@given(st.lists(st.tuples(rationals, rationals).map(list), min_size=1, max_size=12))
def test_max_min_abs(pairs: list[list[F]]) -> None:
    out = run("output y = concat(max(x[0], x[1]), min(x[0], x[1]), abs(x[0]))", "x : 2", x=pairs)["y"]
    for (x, y), got in zip(pairs, out):
        assert list(got) == [max(x, y), min(x, y), abs(x)]


@PROPERTY
@given(column(integers, 15), st.integers(2, 4))
def test_counters(xs: list[list[F]], k: int) -> None:
    out = run(f"output c = count(x)\noutput t = time(x)\noutput f = first(x)\noutput e = count_eq(x, 2)\n"
              f"output p = phase(x, {k})\noutput h = history(x, 3)", x=xs)
    values = [x for [x] in xs]
    for t in range(len(values)):
        assert out["c"][t, 0] == sum(values[:t + 1])
        assert out["t"][t, 0] == t + 1 and out["f"][t, 0] == int(t == 0)
        assert out["e"][t, 0] == values[:t + 1].count(2)
        assert list(out["p"][t]) == [int(i == t % k) for i in range(k)]
        assert list(out["h"][t]) == [values[t - i] if t - i >= 0 else 0 for i in range(3)]

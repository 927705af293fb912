"""The DeltaProduct, rotation and Elman program backends: random delta, LTI and diagonal states over Boolean inputs
compile to models equal to the exact interpreter in float32 and float64 wherever the gate says exact, the
reachable sets that prove delta states' ranges hold every value the interpreter computes, and mod_counter
compiles on deltaproduct and (where its rotation is exact) on rotation."""
from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st

from lsrl.compiler.dce import eliminate_dead_code
from lsrl.compiler.errors import ConstructNotExpressible, InexactInFloat
from lsrl.compiler.fold import fold
from lsrl.compiler.fuse import fuse
from lsrl.compiler.pipeline import compile_program
from lsrl.compiler.ranges import analyse
from lsrl.lang.check import check, check_file
from lsrl.lang.interpreter import evaluate, interpret
from lsrl.lang.parser import parse_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAX_LENGTH = 6
KEYS = ["[1, -1, 0]", "[0, 1, -1]", "[1, 0, 0]", "[0, 0, 1]", "[1, 1, 0]", "[1, 0, -1]"]
RATES = ["bit", "2 * bit", "1 - bit", "bit / 2", "1"]
MATRICES = ["cyclic(3)", "shift(3)", "shift(3, -1)", "identity(3)", "-identity(3)",
            "[[0, -1, 0], [1, 0, 0], [0, 0, 1]]", "[[1/2, 0, 0], [0, -1, 0], [0, 0, 1]]",
            "[[0, 0, 0], [1, 0, 0], [0, 0, 1]]",
            "[[-1/2, -1/2, 0], [-1/2, 0, 0], [0, 0, 1]]", "[[1, 1, 0], [0, 1, 0], [0, 0, 1]]"]


@st.composite
def _program(draw: st.DrawFn) -> str:
    """A bit input and one state: a delta state with constant keys and rates and values reading the bit, an LTI
    state driven by the bit, or a diagonal state gated by it."""
    lines = ['input x : symbols("0", "1")', "let bit = x[1]"]
    kind = draw(st.sampled_from(["delta", "lti", "diagonal"]))
    init = draw(st.lists(st.integers(-1, 1), min_size=3, max_size=3))
    if kind == "delta":
        factors = draw(st.integers(1, 3))
        keys = [draw(st.sampled_from(KEYS)) for _ in range(factors)]
        rates = [draw(st.sampled_from(RATES)) for _ in range(factors)]
        values = [draw(st.sampled_from(["0", "bit", "1"])) for _ in range(factors)]
        lines.append(f"let s = delta(concat({', '.join(keys)}), concat({', '.join(values)}), concat({', '.join(rates)}), "
                     f"init = transpose([{init}]), factors = {factors})")
    elif kind == "lti":
        a = draw(st.sampled_from(MATRICES))
        drive = draw(st.sampled_from(["[[1], [0], [0]]", "[[1], [-1], [2]]", "zeros(3, 1)"]))
        lines.append(f"let s = lti(bit, {a}, {drive}, init = {init})")
    else:
        gate = draw(st.sampled_from(["1 - 2 * bit", "bit", "1 - bit", "bit / 2"]))
        weight = draw(st.sampled_from(['[1, 0, 1]', '[0, 0, 0]', '[1, -1, 2]']))
        lines.append(f"let s = diagonal({gate} * ones(3), bit * {weight}, "
                     f"init = {init})")
    lines.append("output y = s")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(text=_program(), arch=st.sampled_from(["deltaproduct", "rotation", "elman", "gated-deltaproduct", "dense-lrnn"]),
       dtype=st.sampled_from(["float32", "float64"]), data=st.data())
def test_states_compiled_as_exact_equal_the_interpreter(text: str, arch: str, dtype: str, data: st.DataObject) -> None:
    program = check(parse_text(text))
    try:
        compiled = compile_program(program, arch, None, MAX_LENGTH, dtype)
    except ConstructNotExpressible as err:
        event(f"{arch} refused")
        assert err.location is not None and err.reason
        return
    event(f"{arch} exact")
    bits = data.draw(st.lists(st.integers(0, 1), min_size=1, max_size=MAX_LENGTH))
    inputs = np.eye(2, dtype=np.int64)[bits].astype(object)
    want = np.asarray(interpret(program, inputs)["y"], dtype=np.float64)
    np.testing.assert_array_equal(compiled.run(inputs, getattr(torch, dtype))["y"], want, err_msg=text)


@settings(max_examples=40, deadline=None)
@given(text=_program(), data=st.data())
def test_reachable_sets_hold_every_value_of_a_delta_state(text: str, data: st.DataObject) -> None:
    program = eliminate_dead_code(fold(check(parse_text(text))))
    ranges = analyse(program, fuse(program), None, MAX_LENGTH)
    bits = data.draw(st.lists(st.integers(0, 1), min_size=1, max_size=MAX_LENGTH))
    values = evaluate(program, np.eye(2, dtype=np.int64)[bits].astype(object))
    for node, found in ranges.reachable.items():
        for row in values[node]:
            assert tuple(row) in found.states


def test_mod_counter_compiles_on_deltaproduct_and_rotation() -> None:
    """K = 3 counts by two reflections exactly on deltaproduct (and on dense-lrnn, A = I + b (C - I)); on rotation
    the order-3 eigenvalue -1/2 + i sqrt(3)/2 is an exact constant that floats round: refused as exact, compiled
    with --approximate and a proved bound; K = 4 (a right angle) is exact on both."""
    path = EXAMPLES / "mod_counter.lsrl"
    three, four = check_file(path), check_file(path, {"K": F(4)})
    bits = np.random.default_rng(0).integers(0, 2, 40)
    inputs = np.eye(2, dtype=np.int64)[bits].astype(object)
    for program, arch in ((three, "deltaproduct"), (four, "deltaproduct"), (four, "rotation"), (three, "dense-lrnn")):
        compiled = compile_program(program, arch, None, 40, "float32")
        assert compiled.exact
        for name, values in interpret(program, inputs).items():
            np.testing.assert_array_equal(compiled.run(inputs)[name], np.asarray(values, dtype=np.float64))
    with pytest.raises(InexactInFloat, match=r"the delta state 'state' rounds: its weight .* is (an irrational|not a)"):
        compile_program(three, "rotation", None, 40)
    for dtype in ("float32", "float64"):
        compiled = compile_program(three, "rotation", None, 40, dtype, approximate=True)
        assert compiled.correct_up_to == 40  # every output rounds to its exact value at every step
        got = compiled.run(inputs)
        for name, values in interpret(three, inputs).items():
            bound = float(next(e.bound for e in compiled.errors if e.name == name))
            assert bound < 1 / 2 and np.abs(got[name] - np.asarray(values, dtype=np.float64)).max() <= bound


@pytest.mark.parametrize(("arch", "reason"), [
    ("deltanet", "needs 2 Householder factors per token and deltanet has 1"),
    ("elman", r"its transition I - beta k k\^T is quadratic in the input"),
])
def test_refusals_name_the_missing_construction(arch: str, reason: str) -> None:
    with pytest.raises(ConstructNotExpressible, match=reason):
        compile_program(check_file(EXAMPLES / "mod_counter.lsrl"), arch, None, 8)

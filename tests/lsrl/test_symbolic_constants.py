"""Symbolic constants (issue 16): pi, cos, sin and sqrt of rationals are exact algebraic values in the checker and
the interpreter; models round them with a proved bound. LSRL's rotation counter for k = 3 compiles with a bounded
claim (every output rounds to its exact value up to a proved length) that lsrl verify re-derives."""
from __future__ import annotations

import json
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from lsrl.cli import main
from lsrl.compiler.errors import InexactInFloat
from lsrl.compiler.pipeline import CompiledProgram, compile_program
from lsrl.compiler.ranges import Interval, Lattice
from lsrl.lang.check import check, check_file
from lsrl.lang.errors import DuplicateName, LsrlTypeError, LsrlValueError
from lsrl.lang.interpreter import interpret
from lsrl.lang.parser import parse_text
from proofs.cyclotomic import Algebraic, sqrt_rational

COUNTER = Path(__file__).resolve().parents[2] / "examples" / "lsrl-paper" / "modulo_counter.lsrl"
BITS = {"x": Interval(F(0), F(1), Lattice.of(F(1), F(0)))}


def _run(text: str, steps: list) -> dict:
    return interpret(check(parse_text(text)), np.array(steps, dtype=object).reshape(len(steps), -1))


def test_constants_are_exact() -> None:
    out = _run("input x : 1\n"
               "let a = 2 * pi / 3\n"
               "output c = cos(a) * x\n"                       # -1/2: rational, a Fraction
               "output s = sin(a) * sin(a) * x\n"              # 3/4 exactly
               "output r = sqrt(8) * sqrt(1/2) * x + sqrt(3) * x\n", [[F(2)]])
    assert out["c"][0][0] == F(-1) and out["s"][0][0] == F(3, 2)
    r = out["r"][0][0]
    assert isinstance(r, Algebraic) and r == 4 + 2 * sqrt_rational(3)


@pytest.mark.parametrize("text, error, match", [
    ("output y = cos(1) * x", LsrlTypeError, "rational multiple of pi"),
    ("output y = (pi + 1) * x", LsrlTypeError, r"cannot add a multiple of pi \(1 pi\) and a scalar"),
    ("output y = sqrt(-2) * x", LsrlValueError, "sqrt of the negative number -2"),
    ("output y = sqrt(x)", LsrlTypeError, "sqrt takes a rational constant scalar, not a signal"),
    ("output y = sqrt(sqrt(2)) * x", LsrlTypeError, "not an irrational constant"),
    ("output y = zeros(sqrt(2)) + x", LsrlValueError, "must be an integer"),
    ("let pi = 3\noutput y = x", DuplicateName, "'pi' is a builtin"),
    ("output y = (sqrt(2) % 1) * x", LsrlTypeError, "% needs rational operands"),
])
def test_misuse_is_one_located_error(text: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match) as info:
        check(parse_text("input x : 1\n" + text + "\n"))
    assert info.value.location is not None


def test_a_relu_of_an_irrational_multiple_of_a_step_keeps_the_plain_range() -> None:
    """The one-variable refinement of ReLU sums is rational (breakpoints, lattices): with an irrational
    weight it is skipped, and the output is refused as exact or bounded (it raised TypeError in Fraction)."""
    text = ("input x : 1\nlet v0 = relu(1000 * x) - 1000 * relu(x - 1 / 1000)\n"
            "let v1 = relu(sqrt(2) * v0 + 0)\noutput y = v1\n")
    program = check(parse_text(text))
    with pytest.raises(InexactInFloat, match=r"relu 'v1' rounds: its weight .* is an irrational constant"):
        compile_program(program, "lti", BITS, 1, "float32")
    bounded = compile_program(program, "lti", BITS, 1, "float32", approximate=True)
    assert [(e.name, 0 < e.bound < 1e-3) for e in bounded.errors] == [("y", True)]  # the CLI printed 0.000759


@lru_cache(maxsize=None)
def _counter(divisor: int, dtype: str) -> CompiledProgram:
    return compile_program(check_file(COUNTER, {"DIVISOR": F(divisor)}), "lti", BITS, 256, dtype, approximate=True)


def test_lsrls_rotation_counter_is_refused_as_exact_naming_the_irrational_weight() -> None:
    with pytest.raises(InexactInFloat, match=r"'f_modulo_counter.cycler' rounds: its weight .* is an irrational constant"):
        compile_program(check_file(COUNTER), "lti", BITS, 16, "float64")


@settings(max_examples=12, deadline=None)
@given(divisor=st.sampled_from([3, 6]), dtype=st.sampled_from(["float32", "float64"]), data=st.data())
def test_lsrls_rotation_counter_rounds_to_the_count_up_to_its_bounded_length(divisor: int, dtype: str, data) -> None:
    compiled = _counter(divisor, dtype)
    assert not compiled.exact and compiled.correct_up_to is not None
    length = data.draw(st.integers(1, compiled.correct_up_to))
    bits = np.array(data.draw(st.lists(st.integers(0, 1), min_size=length, max_size=length)), dtype=object)
    want = interpret(compiled.program, bits.reshape(-1, 1))["count"]
    got = compiled.run(bits.reshape(-1, 1))["count"]
    assert [int(w[0]) for w in want] == [t % divisor for t in range(length)]
    assert np.array_equal(np.rint(got), np.asarray(want, dtype=np.float64))
    assert np.abs(got - np.asarray(want, dtype=np.float64)).max() <= float(compiled.errors[0].bound)


def test_the_k3_counter_has_a_bounded_claim_that_verify_rederives(tmp_path: Path, capsys) -> None:
    out = tmp_path / "counter"
    assert main(["compile", str(COUNTER), "--arch", "lti", "--dtype", "float32", "--max-length", "256",
                 "--input-range", "x=0:1:1", "--approximate", "-o", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["bounded"]["correct_up_to_length"] == _counter(3, "float32").correct_up_to > 64
    assert config["bounded"]["grids"] == {"count": [["1", "0"]]}
    assert main(["verify", str(out)]) == 0
    assert "the same weights and claims" in capsys.readouterr().out

    config["bounded"]["correct_up_to_length"] += 1  # a stated claim that is not re-derived
    (out / "config.json").write_text(json.dumps(config))
    assert main(["verify", str(out)]) == 2
    assert "field 'bounded'" in capsys.readouterr().err
    config["bounded"]["correct_up_to_length"] -= 1
    (out / "config.json").write_text(json.dumps(config))
    weights = load_file(out / "model.safetensors")
    name = next(k for k in weights if k.endswith("transition"))
    weights[name] = weights[name] * (1 + torch.finfo(torch.float32).eps)  # a drifted rotation
    save_file(weights, out / "model.safetensors")
    assert main(["verify", str(out)]) == 2
    assert f"weight {name!r} differs" in capsys.readouterr().err

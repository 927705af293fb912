"""Compile-and-compare for the gated backends (hawk, lstm, gru) on every example each supports, and on a
program within Hawk's reach: the compiled model equals the exact interpreter on hypothesis-drawn inputs
in float64 and in float32. The bound is 0 in both: stream values are certified by
``lsrl.compiler.rounding.exact_in_float`` (asserted), and every gate pre-activation is an exact dyadic
value of magnitude >= 1024 (sigmoid) or >= 64 (tanh), where the float functions are exactly 0, 1 or +-1.
Refusals name the construct's source line and column and exit 2 through the CLI."""
from __future__ import annotations

from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsrl.cli import main
from lsrl.compiler.errors import ConstructNotExpressible
from lsrl.compiler.pipeline import CompiledProgram, compile_program
from lsrl.compiler.ranges import Interval, Lattice
from lsrl.compiler.rounding import exact_in_float
from lsrl.lang.check import check_file
from lsrl.lang.interpreter import interpret

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = {p.stem: p for p in [*(ROOT / "examples").glob("*.lsrl"),
                                 Path(__file__).parent / "programs" / "window_gates.lsrl"]}
MAX_LENGTH = 12
INTEGERS = Interval(F(-5), F(5), Lattice.of(F(1), F(0)))
ON_GRID = Lattice.of(F(1, 64), F(0))
INPUT_RANGES = {
    "ifelse": {"v": INTEGERS},
    "window_gates": {"v": INTEGERS},
    "token_map": {"token": Interval(F(0), F(9), Lattice.of(F(1), F(0)))},
    "universal_continuous": {"token": [Interval(F(0), F(63, 64), ON_GRID)] * 2 + [Interval(F(-4), F(4), ON_GRID)]},
}
# program -> backend -> None (compiles) or (file, line:column) of the construct refused.
COUNTERS = "counters.lsrl"
SUPPORT = {
    "automaton": {"hawk": ("automaton.lsrl", "14:19"), "lstm": None, "gru": None},
    "counter": {"hawk": (COUNTERS, "9:16"), "lstm": None, "gru": None},
    "ifelse": {"hawk": (COUNTERS, "9:16"), "lstm": (COUNTERS, "9:16"), "gru": (COUNTERS, "9:16")},
    "mod_counter": {b: ("mod_counter.lsrl", "20:13") for b in ("hawk", "lstm", "gru")},
    "parity": {b: ("parity.lsrl", "7:12") for b in ("hawk", "lstm", "gru")},
    "token_map": {"hawk": (COUNTERS, "12:15"), "lstm": ("token_map.lsrl", "26:13"),
                  "gru": ("token_map.lsrl", "26:13")},
    "universal_continuous": {"hawk": (COUNTERS, "12:15"), "lstm": ("universal_continuous.lsrl", "24:13"),
                             "gru": ("universal_continuous.lsrl", "24:13")},
    "window_gates": {"hawk": None, "lstm": (COUNTERS, "24:21"), "gru": (COUNTERS, "24:21")},
}
CASES = [(p, b) for p, table in SUPPORT.items() for b, refused in table.items() if refused is None]


@lru_cache(maxsize=None)
def compiled(program: str, arch: str) -> CompiledProgram:
    return compile_program(check_file(PROGRAMS[program]), arch, INPUT_RANGES.get(program), max_length=MAX_LENGTH)


def test_every_program_is_in_the_table() -> None:
    assert sorted(PROGRAMS) == sorted(SUPPORT)


@pytest.mark.parametrize(("program", "arch"), [(p, b) for p, t in SUPPORT.items() for b, r in t.items() if r])
def test_refusals_name_the_construct(program: str, arch: str) -> None:
    with pytest.raises(ConstructNotExpressible) as err:
        compile_program(check_file(PROGRAMS[program]), arch, INPUT_RANGES.get(program), max_length=MAX_LENGTH)
    file, place = SUPPORT[program][arch]
    line, col = place.split(":")
    assert Path(err.value.location.file).name == file
    assert (err.value.location.line, err.value.location.col) == (int(line), int(col))
    assert f"{arch} cannot express" in str(err.value) and "^" in str(err.value)


def test_counters_need_a_maximum_length() -> None:
    """Without --max-length a count is unbounded: no thermometer code, a refusal."""
    with pytest.raises(ConstructNotExpressible, match="bounded range"):
        compile_program(check_file(PROGRAMS["counter"]), "lstm")


@pytest.mark.parametrize(("program", "arch"), [("parity", "hawk"), ("counter", "hawk"), ("ifelse", "lstm"),
                                               ("parity", "gru")])
def test_cli_refusal_exits_2(program: str, arch: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["compile", str(PROGRAMS[program]), "--arch", arch, "-o", str(tmp_path / "out"), "--max-length", "12"]
    if program == "ifelse":
        args += ["--input-range", "v=-5:5:1"]
    assert main(args) == 2
    assert f"{arch} cannot express" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _inputs(draw: st.DrawFn, program: str, length: int) -> dict[str, np.ndarray]:
    node = compiled(*[(p, b) for p, b in CASES if p == program][0]).program.inputs[0]
    if node.alphabet is not None:
        symbols = draw(st.lists(st.integers(0, node.dim - 1), min_size=length, max_size=length))
        return {node.name: np.eye(node.dim, dtype=np.int64)[symbols].astype(object).reshape(length, node.dim)}
    values = draw(st.lists(st.integers(-5, 5), min_size=length * node.dim, max_size=length * node.dim))
    return {node.name: np.array(values, dtype=object).reshape(length, node.dim)}


@pytest.mark.parametrize(("program", "arch"), CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_compiled_model_equals_interpreter(program: str, arch: str, dtype: str, data: st.DataObject) -> None:
    model = compiled(program, arch)
    assert exact_in_float(model.plan, dtype)
    inputs = _inputs(data.draw, program, data.draw(st.integers(0, MAX_LENGTH)))
    want = interpret(model.program, inputs)
    got = model.run(inputs, getattr(torch, dtype))
    for name, values in want.items():
        np.testing.assert_array_equal(got[name], np.asarray(values, dtype=np.float64).reshape(got[name].shape),
                                      err_msg=f"{program} on {arch}: output {name}")


def test_full_length_counts_are_exact() -> None:
    """All ones for MAX_LENGTH steps: every thermometer unit fires, the last at the last step."""
    ones = np.eye(2, dtype=np.int64)[[1] * MAX_LENGTH].astype(object)
    for arch in ("lstm", "gru"):
        got = compiled("counter", arch).run({"x": ones}, torch.float32)
        np.testing.assert_array_equal(got["ones_seen"][:, 0], np.arange(1, MAX_LENGTH + 1))
        np.testing.assert_array_equal(got["zeros_seen"][:, 0], np.zeros(MAX_LENGTH))


def test_hawk_gates_are_saturated() -> None:
    """Every RG-LRU gate of the compiled Hawk model is exactly 0 or 1 on a run."""
    model = compiled("window_gates", "hawk").model.to(torch.float64)
    x = torch.tensor(np.random.default_rng(0).integers(-5, 6, size=(1, MAX_LENGTH, 3)), dtype=torch.float64)
    stream = model.streams(x)
    for block, before in zip(model.blocks, stream):
        rec = block.recurrence
        if rec.d_state == 0:
            continue
        xc = rec.conv_inputs(block.mixer_input(before))  # the channels the ported recurrence reads
        for gate in (torch.sigmoid(rec.to_r(xc)), torch.sigmoid(rec.to_i(xc))):
            assert set(gate.unique().tolist()) <= {0.0, 1.0}

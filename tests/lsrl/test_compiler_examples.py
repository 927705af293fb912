"""Compile-and-compare for every example and every backend that supports it: the compiled model equals
the exact interpreter on hypothesis-drawn inputs, in float64 and in float32. The float bound is the
one derived by ``lsrl.compiler.rounding.exact_in_float`` from the range analysis: 0, because every
value lies on a dyadic lattice within the format's exact range (the test asserts that certificate).
Backends that cannot express an example must refuse it with ConstructNotExpressible at the stated construct."""
from __future__ import annotations

from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsrl.compiler.errors import ConstructNotExpressible
from lsrl.compiler.pipeline import CompiledProgram, compile_program
from lsrl.compiler.ranges import Interval, Lattice
from lsrl.compiler.rounding import exact_in_float
from lsrl.lang.check import check_file
from lsrl.lang.graph import CheckedProgram
from lsrl.lang.interpreter import interpret

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAX_LENGTH = 12
ON_GRID = Lattice.of(F(1, 64), F(0))
# Real inputs need declared ranges: integers for ifelse and token_map, a dyadic grid in [0, 1) for
# universal_continuous (step 1/64 > 1/MU, so every comparison is exact).
INPUT_RANGES = {
    "ifelse": {"v": Interval(F(-5), F(5), Lattice.of(F(1), F(0)))},
    "token_map": {"token": Interval(F(0), F(9), Lattice.of(F(1), F(0)))},
    "universal_continuous": {"token": [Interval(F(0), F(63, 64), ON_GRID)] * 2 + [Interval(F(-4), F(4), ON_GRID)]},
}
# example -> backend -> None (compiles) or where the construct refused is: line:column in the example, or
# path:line:column (a library macro). The full table over every class is docs/compiled-sizes.md.
SUPPORT = {
    "automaton": {"lti": "14:19", "mamba": "14:19", "mamba-neg": "14:19", "dense-lrnn": None, "rotation": "14:19",
                  "deltaproduct": "15:19", "elman": "14:19"},
    "counter": {"lti": None, "mamba": None, "mamba-neg": None, "dense-lrnn": None, "rotation": None, "deltaproduct": None,
                "elman": None},
    "ifelse": {"lti": None, "mamba": None, "mamba-neg": None, "dense-lrnn": None, "rotation": None, "deltaproduct": None,
               "elman": None},
    "mod_counter": {"lti": "20:13", "mamba": "20:13", "mamba-neg": "20:13", "dense-lrnn": None, "rotation": "20:13",
                    "deltaproduct": None, "elman": "20:13"},
    "parity": {"lti": "7:12", "mamba": "7:12", "mamba-neg": None, "dense-lrnn": None, "rotation": None,
               "deltaproduct": None, "elman": None},
    "token_map": {"lti": "44:42", "mamba": "29:11", "mamba-neg": "29:11", "dense-lrnn": "44:42",
                  "rotation": "lsrl/lang/stdlib/counters.lsrl:24:21", "deltaproduct": None, "elman": "44:42"},
    "universal_continuous": {"lti": None, "mamba": None, "mamba-neg": None, "dense-lrnn": None, "rotation": None,
                             "deltaproduct": None, "elman": None},
}
CASES = [(e, b) for e, table in SUPPORT.items() for b, refused in table.items() if refused is None]


@lru_cache(maxsize=None)
def compiled(example: str, arch: str) -> CompiledProgram:
    program = check_file(EXAMPLES / f"{example}.lsrl")
    return compile_program(program, arch, INPUT_RANGES.get(example), max_length=MAX_LENGTH)


def test_every_example_is_in_the_table() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.lsrl")) == sorted(SUPPORT)


@pytest.mark.parametrize(("example", "arch"), [(e, b) for e, t in SUPPORT.items() for b, r in t.items() if r])
def test_refusals_name_the_construct(example: str, arch: str) -> None:
    program = check_file(EXAMPLES / f"{example}.lsrl")
    with pytest.raises(ConstructNotExpressible) as err:
        compile_program(program, arch, INPUT_RANGES.get(example), max_length=MAX_LENGTH)
    *path, line, col = SUPPORT[example][arch].split(":")
    where = path[0] if path else f"examples/{example}.lsrl"
    assert (err.value.location.line, err.value.location.col) == (int(line), int(col))
    assert err.value.location.file.endswith(where)
    assert f"{where}:{line}:{col}: {arch} cannot express" in str(err.value)
    assert "^" in str(err.value)  # the source line with a caret


def _inputs(draw: st.DrawFn, example: str, program: CheckedProgram, length: int) -> dict[str, np.ndarray]:
    """Symbols one-hot; real inputs on the lattice points of their declared ranges."""
    values = {}
    for node in program.inputs:
        if node.alphabet is not None:
            symbols = draw(st.lists(st.integers(0, node.dim - 1), min_size=length, max_size=length))
            values[node.name] = np.eye(node.dim, dtype=np.int64)[symbols].astype(object).reshape(length, node.dim)
        else:
            ranges = INPUT_RANGES[example][node.name]
            ranges = ranges if isinstance(ranges, list) else [ranges] * node.dim
            rows = [[r.lo + r.lattice.step * draw(st.integers(0, int((r.hi - r.lo) / r.lattice.step))) for r in ranges]
                    for _ in range(length)]
            values[node.name] = np.array(rows, dtype=object).reshape(length, node.dim)
    return values


@pytest.mark.parametrize(("example", "arch"), CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_compiled_model_equals_interpreter(example: str, arch: str, dtype: str, data: st.DataObject) -> None:
    model = compiled(example, arch)
    assert exact_in_float(model.plan, dtype)  # the derived error bound is 0
    inputs = _inputs(data.draw, example, model.program, data.draw(st.integers(0, MAX_LENGTH)))
    want = interpret(model.program, inputs)
    got = model.run(inputs, getattr(torch, dtype))
    for name, values in want.items():
        np.testing.assert_array_equal(got[name], np.asarray(values, dtype=np.float64).reshape(got[name].shape),
                                      err_msg=f"{example} on {arch}: output {name}")


DOC_ROWS = {"automaton": "automaton", "counter": "counter", "ifelse": "ifelse", "mod_counter": "mod_counter",
            "mod_counter K=4": "mod_counter K=4", "parity": "parity", "token_map": "token_map",
            "universal_continuous": "universal_continuous", "lsrl-paper counter": "more_ones_or_zeros SCALE=1024",
            "lsrl-paper continuous, ReLU": "continuous relu SCALE=1024",
            "lsrl-paper continuous, gated": "continuous gated SCALE=1024",
            "lsrl-paper token map, gated": "token_map gated SCALE=1024",
            "lsrl-paper token map, ReLU": "token_map relu SCALE=1024", "lsrl-paper conditionals": "conditionals SCALE=1024"}


@pytest.mark.slow
def test_the_docs_table_of_every_example_on_every_class_is_what_compiles() -> None:
    """docs/compiled-sizes.md: a number where the example compiles with that many parameters, a letter where not,
    for every class with a program backend."""
    from bench.compiled_sizes import CONFIGS, measure
    from models import registry

    text = (EXAMPLES.parent / "docs" / "compiled-sizes.md").read_text().split("## Every example on every class")[1]
    text = text.split("\n## ")[0]  # up to the next section
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    archs = [cell.strip(" `") for cell in lines[0].strip("|").split("|")[1:]]
    assert archs == [a.name for a in registry.with_path("program")]
    configs = {c.name: c for c in CONFIGS}
    for line in lines[1:]:
        label, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        for arch, cell in zip(archs, cells):
            row = measure(configs[DOC_ROWS[label]], arch, "float64")
            assert (f"{row['parameters']:,}" if "parameters" in row else "refused") == \
                (cell if cell[0].isdigit() else "refused"), (label, arch, row)

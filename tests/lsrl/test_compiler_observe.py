"""Observable reduction (lsrl.compiler.observe): LTI states that do not read one another, stacked and cut to what
their readers observe, give the same outputs at every step (random programs, exact interpreter), never more state;
LSRL's counter keeps one count (the difference of its two counters) and compiles to 50 parameters, 12 nonzero."""
from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from lsrl.compiler.dce import eliminate_dead_code
from lsrl.compiler.fold import fold
from lsrl.compiler.fuse import fuse
from lsrl.compiler.observe import reduce_states
from lsrl.compiler.pipeline import compile_program
from lsrl.compiler.ranges import Interval, Lattice
from lsrl.lang.check import check, check_file
from lsrl.lang.graph import LtiState
from lsrl.lang.interpreter import interpret
from lsrl.lang.parser import parse_text

PAPER = Path(__file__).resolve().parents[2] / "examples" / "lsrl-paper"
ENTRIES = st.sampled_from(["0", "1", "-1", "1/2", "2"])


@st.composite
def _program(draw: st.DrawFn) -> str:
    """Two inputs, a few LTI states (some reading others), outputs reading random combinations of them."""
    lines, states = ["input x : 2"], []
    for k in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 3))
        a = [[draw(ENTRIES) for _ in range(n)] for _ in range(n)]
        source = draw(st.sampled_from(["x", *(f"s{j}[0:1]" for j in range(k))]))
        width = 2 if source == "x" else 1
        b = [[draw(ENTRIES) for _ in range(width)] for _ in range(n)]
        rows = lambda m: "[" + ", ".join("[" + ", ".join(r) + "]" for r in m) + "]"  # noqa: E731
        init = ", ".join(draw(ENTRIES) for _ in range(n))
        lines.append(f"let s{k} = lti({source}, {rows(a)}, {rows(b)}, init = [{init}])")
        states.append((k, n))
    for o in range(draw(st.integers(1, 2))):
        terms = [f"{draw(ENTRIES)} * s{k}[{draw(st.integers(0, n - 1))}]" for k, n in states]
        lines.append(f"output y{o} = relu({' + '.join(terms)})")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(text=_program(), data=st.data())
def test_reduced_programs_compute_the_same_outputs(text: str, data) -> None:
    program = eliminate_dead_code(fold(check(parse_text(text))))
    reduced = reduce_states(program, fuse(program))
    event("reduced" if reduced is not None else "already observable")
    if reduced is None:
        return
    state = lambda p: sum(n.dim for n in p.nodes if isinstance(n, LtiState))  # noqa: E731
    assert state(reduced) < state(program)
    steps = data.draw(st.integers(1, 8))
    inputs = np.array(data.draw(st.lists(st.lists(st.integers(-3, 3).map(F), min_size=2, max_size=2),
                                         min_size=steps, max_size=steps)), dtype=object)
    want, got = interpret(program, inputs), interpret(reduced, inputs)
    assert all((want[name] == got[name]).all() for name in want)


def test_lsrls_counter_keeps_one_count() -> None:
    program = check_file(PAPER / "more_ones_or_zeros.lsrl", {"SCALE": F(1024)})
    compiled = compile_program(program, "lti", {"x": Interval(F(0), F(1), Lattice.of(F(1), F(0)))}, 64)
    assert compiled.exact
    assert {k: compiled.size()[k] for k in ("state", "d_model", "parameters", "nonzero")} == \
        {"state": 1, "d_model": 4, "parameters": 16, "nonzero": 11}  # LSRL's simplify(): 17 (12 nonzero)
    bits = np.random.default_rng(1).integers(0, 2, 64).astype(object).reshape(-1, 1)
    assert np.array_equal(compiled.run(bits)["more_ones"], interpret(program, bits)["more_ones"].astype(np.float64))

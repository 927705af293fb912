"""The passes on random programs: folding and dead-code removal keep the semantics, the range analysis
is sound (every value the exact interpreter computes lies in its node's interval and lattice), and
compiled models of every backend equal the interpreter wherever the backend accepts the program."""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsrl.compiler.backends import BACKENDS
from lsrl.compiler.dce import eliminate_dead_code
from lsrl.compiler.errors import ConstructNotExpressible, InexactInFloat
from lsrl.compiler.fold import fold
from lsrl.compiler.fuse import fuse
from lsrl.compiler.pipeline import compile_program
from lsrl.compiler.ranges import Interval, Lattice, analyse
from lsrl.compiler.schedule import schedule
from lsrl.lang.check import check
from lsrl.lang.interpreter import evaluate, interpret
from lsrl.lang.parser import parse_text
from lsrl.lang.strategies import programs, sequences

PROPERTY = settings(max_examples=15, deadline=None)
MAX_LENGTH = 5
QUARTERS = Interval(F(-2), F(2), Lattice.of(F(1, 4), F(0)))  # the values of lsrl.lang.strategies.sequences


def _draw(data: st.DataObject):
    program = check(parse_text(data.draw(programs())))
    inputs = data.draw(sequences({i.name: i.dim for i in program.inputs}, min_length=1, max_length=MAX_LENGTH,
                                 values=st.integers(-8, 8).map(lambda k: F(k, 4))))
    return program, {k: np.array(v, dtype=object) for k, v in inputs.items()}


@PROPERTY
@given(data=st.data())
def test_folding_and_dce_keep_the_outputs(data: st.DataObject) -> None:
    program, inputs = _draw(data)
    simplified = eliminate_dead_code(fold(program))
    assert len(simplified.nodes) <= len(program.nodes)
    want, got = interpret(program, inputs), interpret(simplified, inputs)
    for name in want:
        assert (want[name] == got[name]).all()


@PROPERTY
@given(data=st.data())
def test_ranges_hold_every_value(data: st.DataObject) -> None:
    program, inputs = _draw(data)
    forms = fuse(program)
    ranges = analyse(program, forms, {i.name: QUARTERS for i in program.inputs}, max_length=MAX_LENGTH)
    for node, values in evaluate(program, inputs).items():
        for i, interval in enumerate(ranges.node(node)):
            for v in values[:, i]:
                assert interval.lo <= v <= interval.hi, (node, i, v, interval)
                if interval.lattice is not None:
                    lattice = interval.lattice
                    assert (v == lattice.offset if lattice.step == 0 else (v - lattice.offset) % lattice.step == 0), \
                        (node, i, v, interval)


@PROPERTY
@given(data=st.data(), arch=st.sampled_from(BACKENDS))
def test_random_programs_compile_exactly_or_are_refused(data: st.DataObject, arch: str) -> None:
    """Every output is within its proved float error bound of the interpreter (equal where the bound is 0)."""
    program, inputs = _draw(data)
    want = interpret(program, inputs)
    for dtype in ("float64", "float32"):
        try:
            compiled = compile_program(program, arch, {i.name: QUARTERS for i in program.inputs},
                                       max_length=MAX_LENGTH, dtype=dtype, approximate=True)
        except ConstructNotExpressible as err:
            assert err.location is not None
            continue
        got = compiled.run(inputs)
        for error in compiled.errors:
            wrong = [(w, g) for w, g in zip(want[error.name].reshape(-1), got[error.name].reshape(-1))
                     if abs(F(float(g)) - w) > error.bound]
            assert not wrong, (arch, dtype, error, wrong[:3])


INTS = Interval(F(-3), F(3), Lattice.of(F(1), F(0)))


def _compile_text(text: str, arch: str = "lti", **kwargs: object):
    """Compiled with every real input an integer in [-3, 3] and at most MAX_LENGTH steps, unless told otherwise."""
    program = check(parse_text(text))
    ranges = {i.name: INTS for i in program.inputs if i.alphabet is None}
    options = {"input_ranges": ranges, "max_length": MAX_LENGTH, **kwargs}
    return compile_program(program, arch, **options)


def test_parallel_branches_share_a_layer_and_chains_deepen() -> None:
    """Two independent ReLUs of the input share block 0's MLP; a ReLU of a state waits for block 1."""
    parallel = _compile_text("input x : 2\noutput a = relu(x[0])\noutput b = relu(x[1] - 1)\n")
    assert parallel.size()["layers"] == 1 and parallel.plan.blocks[0].mlp and not parallel.plan.blocks[0].recurrence
    chain = _compile_text("input x : 1\nlet s = lti(x, [[1]], [[1]])\nlet r = relu(s)\noutput o = lti(r, [[1]], [[1]])\n")
    assert [len(b.recurrence) for b in chain.plan.blocks] == [1, 1] and len(chain.plan.blocks[0].mlp) == 1


def test_affine_chains_are_fused_and_not_materialised() -> None:
    compiled = _compile_text("input x : 2\nlet y = [[1, 2], [3, 4]] @ x + 1\nlet z = [[1, -1]] @ y\noutput o = relu(z)\n")
    forms = compiled.plan.ctx.forms
    (row,) = forms[compiled.plan.ctx.program.output("o").x]
    assert {atom[1]: c for atom, c in row.terms.items()} == {0: -2, 1: -2} and row.const == 0
    assert compiled.size()["d_model"] == 3  # x and relu only


def test_constant_factor_products_fold_to_affine_maps() -> None:
    program = check(parse_text("use counters\ninput x : 1\noutput o = one(x) * x\n"))
    folded = eliminate_dead_code(fold(program))
    assert not any(type(n).__name__ == "Multiply" for n in folded.nodes)
    assert compile_program(program, "lti", {"x": INTS}).size()["mlp_hidden"] == 0


def test_schedule_is_as_soon_as_possible() -> None:
    program = check(parse_text("input x : 1\nlet a = relu(x)\nlet b = relu(a)\nlet s = lti(b, [[1]], [[1]])\n"
                               "output o = s\n"))
    forms = fuse(program)
    kinds = {n: ("mlp" if type(n).__name__ == "Relu" else "recurrence") for n in program.nodes if n.inputs()
             and type(n).__name__ in ("Relu", "LtiState")}
    phases = sorted(schedule(program, forms, kinds).values())
    assert phases == [0, 2, 4, 5]


def test_lti_refuses_unbounded_gating_and_accepts_it_with_ranges() -> None:
    text = "use compare\ninput v : 2\noutput o = gt(v[0], 0) * v[1]\n"
    with pytest.raises(ConstructNotExpressible, match="proven Boolean"):
        _compile_text(text, input_ranges={}, max_length=None)
    compiled = _compile_text(text, max_length=None)
    values = np.array([[F(a), F(b)] for a in range(-3, 4) for b in range(-3, 4)], dtype=object)
    np.testing.assert_array_equal(compiled.run({"v": values})["o"][:, 0], [float((a > 0) * b) for a, b in values])


def test_mamba_gate_ranges_are_proven() -> None:
    text = "input x : symbols(\"0\", \"1\")\noutput s = diagonal(x[1], x[0], init = 0)\n"
    assert _compile_text(text, "mamba").size()["state"] == 1
    with pytest.raises(ConstructNotExpressible, match=r"\[0, 1\]"):
        _compile_text("input x : symbols(\"0\", \"1\")\noutput s = diagonal(x[1] - x[0], x[0], init = 0)\n", "mamba")
    with pytest.raises(ConstructNotExpressible, match="not diagonalisable"):
        _compile_text("use counters\ninput x : 1\noutput h = history(x, 3)\n", "mamba")


def test_mamba_diagonalises_lti_states_over_the_rationals() -> None:
    """Dyadic inputs: exact in the eigenbasis; real ones: within the proved bound (not exact: refused without
    ``approximate``)."""
    text = "input x : 1\noutput s = lti(x, [[1/2, 1/4], [0, 1]], [[1], [1]])\n"
    compiled = _compile_text(text, "mamba", input_ranges={"x": QUARTERS})
    values = np.array([[F(k, 4)] for k in (1, -3, 2, 0, 5)], dtype=object)
    want = interpret(compiled.program, values)["s"]
    np.testing.assert_array_equal(compiled.run(values)["s"], np.asarray(want, dtype=float))
    reals = {"x": Interval(F(-2), F(2), None)}
    with pytest.raises(InexactInFloat, match="not proven to lie on a dyadic grid"):
        _compile_text(text, "mamba", input_ranges=reals)
    approximate = _compile_text(text, "mamba", input_ranges=reals, approximate=True)
    tenths = np.array([[F(k, 10)] for k in (1, -13, 20, 0, 7)], dtype=object)
    got = approximate.run(tenths)["s"]
    bound = approximate.errors[0].bound
    assert 0 < bound < 1e-12
    want = interpret(approximate.program, tenths)["s"].reshape(-1)
    assert all(abs(F(g) - w) <= bound for g, w in zip(got.reshape(-1), want))

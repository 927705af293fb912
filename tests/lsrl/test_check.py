"""The checker: the graph it builds, and a located error of the documented type for each mistake."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automata.errors import LsrlInputError
from lsrl.lang.check import check, check_file
from lsrl.lang.errors import (
    ArityError,
    DuplicateName,
    Location,
    LsrlError,
    LsrlTypeError,
    LsrlValueError,
    MacroRecursion,
    ModuleError,
    ShapeError,
    UndefinedName,
)
from lsrl.lang.graph import Affine, CheckedProgram, LtiState, Multiply, Relu, Slice
from lsrl.lang.parser import parse_text


def checked(text: str, file: str = "p.lsrl") -> CheckedProgram:
    return check(parse_text(text, file))


def error(text: str, kind: type[LsrlError] = LsrlError) -> LsrlError:
    with pytest.raises(kind) as info:
        checked(text)
    assert isinstance(info.value, LsrlInputError)
    return info.value


def test_affine_chains_fuse_and_names_are_kept() -> None:
    program = checked("input x : 2\nlet y = 2 * x + 1\nlet z = -(y - x) / 3 + [1, 2]\noutput z")
    kinds = [type(n).__name__ for n in program.nodes]
    assert kinds == ["Input", "Affine", "Affine"]
    y, z = program.nodes[1:]
    assert program.labels[y] == "y" and program.labels[z] == "z"
    assert {t.node for t in z.terms} == {y, program.nodes[0]}


def test_unused_nodes_are_dropped_and_inputs_kept() -> None:
    program = checked("input x : 1\ninput unused : 2\nlet dead = relu(x)\noutput y = x * x")
    assert [type(n).__name__ for n in program.nodes] == ["Input", "Input", "Multiply"]
    assert [i.name for i in program.inputs] == ["x", "unused"]


def test_broadcasting_a_one_dimensional_signal() -> None:
    program = checked("input g : 1\ninput v : 3\noutput y = g * v + g")
    (mul,) = [n for n in program.nodes if isinstance(n, Multiply)]
    assert isinstance(mul.x, Affine) and mul.x.dim == 3 and program.output("y").dim == 3


def test_macros_expand_at_each_call_with_that_calls_shapes() -> None:
    program = checked("def sq(u) { let w = u * u return relu(w) }\n"
                      "input x : 1\ninput v : 3\noutput a = sq(x)\noutput b = sq(v)")
    assert program.output("a").dim == 1 and program.output("b").dim == 3
    assert sum(isinstance(n, Relu) for n in program.nodes) == 2
    assert sorted(program.labels.values()) == ["a", "b", "sq.w", "sq.w", "v", "x"]


def test_constants_fold_exactly() -> None:
    program = checked("let A = [[1, 2], [3, 4]] @ [[0, 1], [1, 0]] / 3\ninput x : 2\noutput y = A @ x + 1/3")
    (node,) = [n for n in program.nodes if isinstance(n, Affine)]
    assert [[str(v) for v in row] for row in node.terms[0].weight] == [["2/3", "1/3"], ["4/3", "1"]]
    assert [str(v) for v in node.bias] == ["1/3", "1/3"]


def test_indexing_and_slicing() -> None:
    program = checked("input x : 4\noutput a = x[-1]\noutput b = x[1:3]\noutput c = x[:]\n"
                      "output d = [[1, 2], [3, 4]][1] @ x[2:]")
    a, b, c = (program.output(n) for n in "abc")
    assert isinstance(a, Slice) and (a.start, a.stop) == (3, 4)
    assert isinstance(b, Slice) and (b.start, b.stop) == (1, 3)
    assert c is program.inputs[0]
    assert program.output("d").dim == 1


def test_lti_defaults_to_a_zero_initial_state() -> None:
    program = checked("input x : 1\noutput s = lti(x, [[1, 0], [0, 2]], [[1], [1]])")
    state = program.output("s")
    assert isinstance(state, LtiState) and state.init == (0, 0) and state.dim == 2


@pytest.mark.parametrize("text, words", [
    ("input x : 2\noutput y = x + [1, 2, 3]", "signal[2] and a vector[3]"),
    ("input x : 2\ninput z : 3\noutput y = x * z", "signal[2] and a signal[3]"),
    ("input x : 2\noutput y = [[1, 2, 3]] @ x", "matrix[1x3] and a signal[2]"),
    ("input x : 2\noutput y = lti(x, [[1, 0], [0, 1]], [[1, 0, 0]])", "matrix[2x2]"),
    ("input x : 2\noutput y = lti(x, [[1, 0]], [[1, 0]])", "square"),
    ("input x : 2\noutput y = lti(x, identity(2), identity(2), init = [1, 2, 3])", "vector[2]"),
    ("input x : 2\noutput y = diagonal(x, [1, 2, 3])", "signal[2] and a signal[3]"),
    ("input x : 2\noutput y = delta(x, x, x)", "beta"),
    ("input x : 2\noutput y = x[2]", "out of range"),
    ("input x : 2\noutput y = x[1:1]", "empty"),
    ("let A = [[1, 2], [3]]\ninput x : 1\noutput x", "equal lengths"),
    ("let A = [1, [2]]\ninput x : 1\noutput x", "mixes"),
    ("let A = [[1, 2]] @ [[1, 2]]\ninput x : 1\noutput x", "matrix[1x2] and a matrix[1x2]"),
    ("let A = [1, 2] + [1, 2, 3]\ninput x : 1\noutput x", "vector[2] and a vector[3]"),
    ("let B = block([[identity(2), zeros(3, 1)]])\ninput x : 1\noutput x", "heights"),
    ("let D = task(\"parity\")\ninput x : 3\noutput y = automaton(D, x)", "dimension 2"),
])
def test_shape_errors_name_both_shapes(text: str, words: str) -> None:
    err = error(text, ShapeError)
    assert words in err.message
    assert err.location is not None and err.location.file == "p.lsrl"


def test_shape_error_is_located_at_the_operator_with_a_caret() -> None:
    err = error("input x : 2\nlet v = [1, 2, 3]\noutput y = x  +  v", ShapeError)
    assert err.location == Location("p.lsrl", 3, 15)
    lines = str(err).split("\n")
    assert lines[0] == "p.lsrl:3:15: cannot add a signal[2] and a vector[3]: dimensions 2 and 3 differ"
    assert lines[1] == "  output y = x  +  v" and lines[2] == " " * 16 + "^"


@pytest.mark.parametrize("text, kind, words", [
    ("input x : 1\noutput y = xx + 1", UndefinedName, "undefined name 'xx'; did you mean 'x'?"),
    ("input x : 1\noutput y = rleu(x)", UndefinedName, "did you mean 'relu'?"),
    ("input x : 1\noutput y = relu", LsrlTypeError, "builtin function"),
    ("def f(a) = a\ninput x : 1\noutput y = f", LsrlTypeError, "is a function"),
    ("input x : 1\nlet v = 3\noutput y = v(x)", LsrlTypeError, "not a function"),
    ("input x : 1\noutput y = relu(x, x)", ArityError, "at most 1"),
    ("input x : 1\noutput y = lti(x, [[1]])", ArityError, "missing argument 'B'"),
    ("input x : 1\noutput y = lti(x, [[1]], [[1]], start = 1)", ArityError, "no parameter 'start'"),
    ("input x : 1\noutput y = lti(x, [[1]], [[1]], A = [[1]])", ArityError, "two values"),
    ("input x : 1\noutput y = lti(x, [[1]], B = [[1]], B = [[2]])", ArityError, "given twice"),
    ("def f(a, b) = a\ninput x : 1\noutput y = f(x)", ArityError, "missing argument 'b'"),
    ("def f(a) = a\ninput x : 1\noutput y = f(x, x)", ArityError, "takes 1"),
    ("def f(a) = a\ninput x : 1\noutput y = f(x, c = 1)", ArityError, "no parameter 'c'"),
    ("def f(a) = f(a)\ninput x : 1\noutput y = x", MacroRecursion, "f -> f"),
    ("def f(a) = g(a) + 1\ndef g(a) { let b = f(a) return b }\ninput x : 1\noutput y = x",
     MacroRecursion, "f -> g -> f"),
    ("input x : 1\nlet x = 2\noutput y = x", DuplicateName, "already defined at p.lsrl:1:7"),
    ("def relu(a) = a\ninput x : 1\noutput y = x", DuplicateName, "builtin"),
    ("input x : 1\noutput y = x\noutput y", DuplicateName, "declared twice"),
    ("input x : 1\noutput y = x / 0", LsrlValueError, "division by zero"),
    ("input x : 1\noutput y = 1 / x", LsrlTypeError, "divide by a signal"),
    ("input x : 1\noutput y = x @ [1]", LsrlTypeError, "left operand of @"),
    ("input x : 1\noutput y = [x, 1]", LsrlTypeError, "concat"),
    ("input x : 1\noutput y = x % 2", LsrlTypeError, "constant operands"),
    ("input x : 1/2\noutput y = x", LsrlValueError, "integer"),
    ("input x : 0\noutput y = x", ShapeError, "dimensions start at 1"),
    ("input x : identity(100000)\noutput y = x", LsrlValueError, "too large"),
    ("input x : \"a\"\noutput y = x", LsrlTypeError, "not a string"),
    ("input x : 1\noutput y = task(\"nonesuch\")", LsrlValueError, "unknown task"),
    ("input x : 1\noutput y = regex(\"(a\")", LsrlValueError, "regex"),
    ("input x : 1\noutput y = dfa_file(\"missing.json\")", LsrlValueError, "missing.json"),
    ("input x : 1\noutput y = task(\"parity\")", LsrlTypeError, "an output must be"),
    ("input x : symbols(\"1\", \"0\")\noutput y = automaton(task(\"parity\"), x)", LsrlTypeError, "reads (0, 1)"),
    ("input x : 1\nlet y = x", LsrlError, "no output"),
    ("let y = 1", LsrlError, "no input"),
    ("use nonesuch\ninput x : 1\noutput x", ModuleError, "no standard module 'nonesuch'"),
    ("use \"nonesuch.lsrl\"\ninput x : 1\noutput x", ModuleError, "no module file"),
])
def test_mistakes_raise_their_error(text: str, kind: type[LsrlError], words: str) -> None:
    err = error(text, kind)
    assert words in err.message


def test_error_inside_a_macro_names_the_call() -> None:
    err = error("def f(u) = u + [1, 2, 3]\ninput x : 2\noutput y = f(x)", ShapeError)
    assert err.location == Location("p.lsrl", 1, 14)
    assert str(err).split("\n")[-1] == "  in f(...) called at p.lsrl:3:12"


def test_error_in_a_standard_module_shows_its_own_line() -> None:
    err = error("use logic\ninput x : 2\noutput y = and(x, [1, 0, 1])", ShapeError)
    assert err.location.file.endswith("logic.lsrl")
    assert "def and(a, b)" in str(err)


def test_modules_import_their_own_names_only(tmp_path: Path) -> None:
    (tmp_path / "lib.lsrl").write_text("use logic\nlet TWO = 2\ndef double(a) = TWO * not(not(a))\n")
    (tmp_path / "main.lsrl").write_text('use "lib.lsrl"\ninput x : 1\noutput y = double(x)\n')
    assert check_file(tmp_path / "main.lsrl").output("y").dim == 1
    (tmp_path / "bad.lsrl").write_text('use "lib.lsrl"\ninput x : 1\noutput y = not(x)\n')
    with pytest.raises(UndefinedName, match="'not'"):
        check_file(tmp_path / "bad.lsrl")


def test_modules_may_not_declare_inputs_or_use_themselves(tmp_path: Path) -> None:
    (tmp_path / "io.lsrl").write_text("input x : 1\n")
    (tmp_path / "a.lsrl").write_text('use "b.lsrl"\n')
    (tmp_path / "b.lsrl").write_text('use "a.lsrl"\n')
    (tmp_path / "main.lsrl").write_text('use "io.lsrl"\ninput x : 1\noutput x\n')
    with pytest.raises(ModuleError, match="cannot declare an input"):
        check_file(tmp_path / "main.lsrl")
    (tmp_path / "main.lsrl").write_text('use "a.lsrl"\ninput x : 1\noutput x\n')
    with pytest.raises(ModuleError, match="cycle"):
        check_file(tmp_path / "main.lsrl")


def test_name_clash_between_modules_and_program() -> None:
    err = error("use logic\ndef not(a) = a\ninput x : 1\noutput x", DuplicateName)
    assert "'not' is already defined" in err.message


def test_summary_and_dump() -> None:
    program = checked('input x : symbols("a", "b")\nlet h = relu(x - 1)\noutput y = 2 * h')
    assert program.summary() == ("inputs x: 2 (one-hot of 2 symbols)\noutputs y: 2\n"
                                 "4 nodes: 1 Input, 2 Affine, 1 Relu")
    assert program.dump().split("\n")[-2:] == ["#3 = Affine[2](#2)  # y", "output y = #3"]


# -- compile-time structure: param, comprehensions, constant conditionals ------------------------------------------


def _outputs(text: str, values: list[int], **params: int) -> dict[str, list]:
    from fractions import Fraction

    import numpy as np

    from lsrl.lang.interpreter import interpret

    program = check(parse_text(text, "p.lsrl"), {k: Fraction(v) for k, v in params.items()})
    return {k: v.tolist() for k, v in interpret(program, np.array([[v] for v in values], dtype=object)).items()}


WINDOW = """use counters
param T = 3
input x : 1
let h = history(x, T)
output window = [h[T - 1 - k] for k in range(T)]
output weights = [[i * j for j in range(2)] for i in range(T)] @ [1, 1]
output parity = x if T % 2 else -x
"""


def test_params_comprehensions_and_conditionals_unroll_when_checked() -> None:
    got = _outputs(WINDOW, [1, 2, 3])
    assert got["window"] == [[0, 0, 1], [0, 1, 2], [1, 2, 3]]
    assert got["weights"][0] == [0, 1, 2] and got["parity"] == [[1], [2], [3]]
    wider = _outputs(WINDOW, [1, 2], T=4)
    assert wider["window"] == [[0, 0, 0, 1], [0, 0, 1, 2]] and wider["parity"] == [[-1], [-2]]


def test_compile_time_structure_errors_are_located() -> None:
    assert "must be a constant" in str(error("input x : 1\nparam P = x\noutput y = x", LsrlTypeError))
    err = error("input x : 1\noutput y = 1 if x else x", LsrlTypeError)
    assert err.location == Location("p.lsrl", 2, 17) and "known when the program is checked" in str(err)
    assert "runs over a constant" in str(error("input x : 1\noutput y = [x for i in x]", LsrlTypeError))
    assert "has no entries" in str(error("input x : 1\noutput y = [x for i in range(0)]", ShapeError))
    with pytest.raises(LsrlValueError, match="declares no `param U`"):
        check(parse_text(WINDOW), {"U": 1})


def test_the_unchosen_branch_is_not_checked() -> None:
    assert _outputs("input x : 1\noutput y = x if 1 else undefined_name", [5]) == {"y": [[5]]}


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), a=st.integers(-3, 3), b=st.fractions(-2, 2, max_denominator=4), scale=st.integers(-2, 2))
def test_comprehensions_equal_the_lists_they_unroll(n: int, a: int, b, scale: int) -> None:
    """A comprehension over constants and over signals gives what the written-out list (or concat) gives."""
    rolled = (f"param N = {n}\ninput x : 1\noutput c = [{a} * i + {b} for i in range(N)]\n"
              f"output s = [x * i + {scale} for i in range(N)]")
    written = (f"input x : 1\noutput c = [{', '.join(f'{a} * {i} + {b}' for i in range(n))}]\n"
               f"output s = concat({', '.join(f'x * {i} + {scale}' for i in range(n))})")
    assert _outputs(rolled, [1, -2, 3]) == _outputs(written, [1, -2, 3])

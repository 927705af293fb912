"""Hypothesis strategies for lsrl programs (every primitive but ``automaton``, small integer weights) and their input
sequences, for property tests of the checker, the interpreter and compiled models."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from hypothesis import strategies as st

small = st.integers(-2, 2)


@dataclass
class _Draft:
    """Signals defined so far (name, dimension) and the program's lines."""

    signals: list[tuple[str, int]]
    lines: list[str] = field(default_factory=list)

    def add(self, text: str, dim: int) -> None:
        name = f"v{len(self.signals)}"
        self.lines.append(f"let {name} = {text}")
        self.signals.append((name, dim))


def _vector(draw: st.DrawFn, n: int, values: st.SearchStrategy[int] = small) -> str:
    return "[" + ", ".join(str(draw(values)) for _ in range(n)) + "]"


def _matrix(draw: st.DrawFn, m: int, n: int, values: st.SearchStrategy[int] = small) -> str:
    return "[" + ", ".join(_vector(draw, n, values) for _ in range(m)) + "]"


def _step(draw: st.DrawFn, d: _Draft) -> None:
    """Append one binding that applies a random primitive to earlier signals."""
    name, n = draw(st.sampled_from(d.signals))
    kind = draw(st.sampled_from(["affine", "relu", "gate", "concat", "slice", "lti", "diagonal", "delta"]))
    if kind == "affine":
        m = draw(st.integers(1, 3))
        d.add(f"{_matrix(draw, m, n)} @ {name} + {_vector(draw, m)} / 2", m)
    elif kind == "relu":
        d.add(f"relu({name} - 1/2)", n)
    elif kind == "gate":
        other, k = draw(st.sampled_from([s for s in d.signals if s[1] in (1, n)] or [(name, n)]))
        d.add(f"{name} * {other}", max(n, k))
    elif kind == "concat":
        other, k = draw(st.sampled_from(d.signals))
        d.add(f"concat({name}, {other})", n + k)
    elif kind == "slice":
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i + 1, n))
        d.add(f"{name}[{i}:{j}]", j - i)
    elif kind == "lti":
        m = draw(st.integers(1, 3))
        halves = st.sampled_from([-1, 0, 1])
        d.add(f"lti({name}, {_matrix(draw, m, m, halves)} / 2, {_matrix(draw, m, n)}, init = {_vector(draw, m)})", m)
    elif kind == "diagonal":
        other, k = draw(st.sampled_from([s for s in d.signals if s[1] in (1, n)] or [(name, n)]))
        d.add(f"diagonal({name} / 4, {other}, init = {draw(small)})", max(n, k))
    else:
        value, dv = draw(st.sampled_from(d.signals))
        d.add(f"delta({name} / 2, {value}, 1/2, init = {_matrix(draw, n, dv)})", n * dv)


@st.composite
def programs(draw: st.DrawFn, max_inputs: int = 2, max_dim: int = 3, max_steps: int = 6) -> str:
    """The source of a random checked-valid program over inputs ``x0, x1, ...``."""
    inputs = [(f"x{i}", draw(st.integers(1, max_dim))) for i in range(draw(st.integers(1, max_inputs)))]
    draft = _Draft(list(inputs))
    for _ in range(draw(st.integers(1, max_steps))):
        _step(draw, draft)
    outputs = draw(st.lists(st.sampled_from(draft.signals[len(inputs):]), min_size=1, max_size=3, unique=True))
    return "\n".join([*(f"input {n} : {k}" for n, k in inputs), *draft.lines,
                      *(f"output out_{n} = {n}" for n, _ in outputs)]) + "\n"


def sequences(dims: dict[str, int], min_length: int = 0, max_length: int = 6,
              values: st.SearchStrategy[Fraction] = st.fractions(-2, 2, max_denominator=4)
              ) -> st.SearchStrategy[dict[str, list[list[Fraction]]]]:
    """Inputs of one common length for inputs of the given dimensions."""
    return st.integers(min_length, max_length).flatmap(lambda t: st.fixed_dictionaries({
        name: st.lists(st.lists(values, min_size=n, max_size=n), min_size=t, max_size=t)
        for name, n in dims.items()}))

"""The interpreter's inputs and outputs as text, for ``lsrl run prog.lsrl --input-str ...`` (the format:
docs/language.md#python-api)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from automata.bounded_input import parse_rational
from automata.errors import LsrlInputError
from lsrl.lang.errors import InputValueError
from lsrl.lang.graph import CheckedProgram, Input


def encode_text(program: CheckedProgram, text: str) -> dict[str, np.ndarray]:
    """Arrays of shape (T, dim) of ``Fraction``, one per input, from ``text``."""
    if len(program.inputs) == 1 and program.inputs[0].alphabet is not None:
        return {program.inputs[0].name: encode_symbols(program.inputs[0], text)}
    if any(i.alphabet is not None for i in program.inputs):
        raise InputValueError("a program with several inputs reads numbers; write each step as comma-separated values")
    return encode_numbers(program.inputs, text)


def symbols_of(node: Input, text: str) -> list[str]:
    """Split ``text`` into the symbols of ``node``'s alphabet."""
    assert node.alphabet is not None
    if all(len(a) == 1 for a in node.alphabet):
        return [c for c in text if not c.isspace()]
    return text.split()


def encode_symbols(node: Input, text: str) -> np.ndarray:
    """The one-hot rows of the symbols in ``text``."""
    assert node.alphabet is not None
    index = {a: j for j, a in enumerate(node.alphabet)}
    word = symbols_of(node, text)
    rows = np.full((len(word), node.dim), Fraction(0), dtype=object)
    for t, symbol in enumerate(word):
        if symbol not in index:
            shown = ", ".join(repr(a) for a in node.alphabet[:20])
            raise InputValueError(f"symbol {symbol!r} at position {t} is not in the alphabet of input "
                                  f"{node.name!r} ({shown})")
        rows[t, index[symbol]] = Fraction(1)
    return rows


def encode_numbers(inputs: tuple[Input, ...], text: str) -> dict[str, np.ndarray]:
    """Whitespace-separated steps of comma-separated rationals, split among the inputs in order."""
    width = sum(i.dim for i in inputs)
    steps = text.split()
    table = np.full((len(steps), width), Fraction(0), dtype=object)
    for t, step in enumerate(steps):
        fields = step.split(",")
        if len(fields) != width:
            raise InputValueError(f"step {t} ({step!r}) has {len(fields)} values; the inputs "
                                  f"({', '.join(f'{i.name}: {i.dim}' for i in inputs)}) take {width}")
        for j, field in enumerate(fields):
            try:
                table[t, j] = parse_rational(field, f"step {t}, value {j + 1}")
            except LsrlInputError as err:
                raise InputValueError(str(err)) from None
    bounds = np.cumsum([0, *(i.dim for i in inputs)])
    return {i.name: table[:, bounds[k]:bounds[k + 1]] for k, i in enumerate(inputs)}


def format_outputs(outputs: dict[str, np.ndarray]) -> str:
    """One line per step, ``t  name=[v, ...]  ...``, for outputs of shape (T, dim)."""
    length = min((len(v) for v in outputs.values()), default=0)
    lines = []
    for t in range(length):
        cells = "  ".join(f"{name}=[{', '.join(_number(v) for v in values[t])}]" for name, values in outputs.items())
        lines.append(f"{t + 1}  {cells}")
    return "\n".join(lines)


def _number(value: object) -> str:
    """A Fraction as ``p/q`` (or an integer); a float in its shortest repr."""
    return str(value) if isinstance(value, Fraction) else repr(float(value))

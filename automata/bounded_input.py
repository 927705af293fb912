"""Readers for untrusted input (files, JSON, numbers): bounded, UTF-8 checked, every failure an
``LsrlInputError`` naming the source and the field, never a hang or a traceback."""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from automata.errors import LsrlInputError

MAX_FILE_BYTES = 256 * 2**20
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 400
MAX_DECIMAL_EXPONENT = 400
_DECIMAL = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE](?P<exp>[-+]?\d+))?\s*")


class InputLimitError(LsrlInputError):
    """An input beyond a documented limit (file size, nesting depth, number size)."""


def read_text(path: str | os.PathLike, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``; unreadable, oversized or non-UTF-8 files are input errors. At most
    ``max_bytes + 1`` bytes are read, so that a device such as /dev/zero is refused, not read forever."""
    path = Path(path)
    try:
        if path.is_dir():
            raise LsrlInputError(f"{path}: is a directory, expected a {what}")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputLimitError(f"{path}: {size} bytes, more than the {max_bytes}-byte limit of a {what}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputLimitError(f"{path}: more than the {max_bytes}-byte limit of a {what}")
    except OSError as err:
        raise LsrlInputError(f"{path}: cannot read the {what} ({err.strerror or err})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise LsrlInputError(f"{path}:{line}: not UTF-8 text (byte {err.start}: {data[err.start]:#04x})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a float")
    return value


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside a JSON document with its nesting depth (1 at the top), without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _check_depth(value: Any, source: str, limit: int) -> None:
    if any(depth > limit for _, depth in _walk(value)):
        raise InputLimitError(f"{source}: JSON nested deeper than {limit} levels")


def _exponent_too_large(match: re.Match[str]) -> bool:
    """Whether a decimal matched by ``_DECIMAL`` has an exponent beyond the bound (its digits are
    counted before ``int``, which refuses more than 4300 of them)."""
    exponent = match["exp"]
    if exponent is None:
        return False
    digits = exponent.lstrip("+-").lstrip("0")
    return len(digits) > len(str(MAX_DECIMAL_EXPONENT)) or int(digits or "0") > MAX_DECIMAL_EXPONENT


def parse_json(text: str, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` with NaN/Infinity and overflowing numbers refused and nesting bounded."""
    if not text.strip():
        raise LsrlInputError(f"{source}: empty, expected a JSON document")
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as err:
        raise LsrlInputError(f"{source}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}") from None
    except RecursionError:
        raise InputLimitError(f"{source}: JSON nested deeper than {max_depth} levels") from None
    except ValueError as err:
        raise LsrlInputError(f"{source}: malformed JSON: {err}") from None
    _check_depth(value, source, max_depth)
    return value


def load_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """The JSON document in ``path``, read and parsed with the bounds above."""
    return parse_json(read_text(path, what), str(path))


def parse_rational(text: object, where: str) -> Fraction:
    """An exact rational from an int, a decimal string (``-1.5e3``) or ``p/q``, with bounded size:
    exponents beyond 10^±400 and numbers of more than 400 characters are refused before any
    arithmetic (``Fraction("1e999999999")`` would not finish)."""
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise LsrlInputError(f"{where}: expected a number written as a string or an integer, got {type(text).__name__}")
    if isinstance(text, int):
        return Fraction(text)
    if len(text) > MAX_NUMBER_CHARS:
        raise InputLimitError(f"{where}: a number of {len(text)} characters (limit {MAX_NUMBER_CHARS})")
    parts = text.split("/")
    if len(parts) > 2:
        raise LsrlInputError(f"{where}: {text!r} is not a number (write e.g. 2, -1/3 or 0.25)")
    for part in parts:
        match = _DECIMAL.fullmatch(part)
        if match is None:
            raise LsrlInputError(f"{where}: {text!r} is not a number (write e.g. 2, -1/3 or 0.25)")
        if _exponent_too_large(match):
            raise InputLimitError(f"{where}: {text!r} has an exponent beyond 10^±{MAX_DECIMAL_EXPONENT}")
    try:
        return Fraction(text.strip())
    except ZeroDivisionError:
        raise LsrlInputError(f"{where}: {text!r} divides by zero") from None
    except ValueError:
        raise LsrlInputError(f"{where}: {text!r} is not a number (write e.g. 2, -1/3 or 0.25)") from None


def check_number_strings(document: Any, source: str) -> None:
    """Refuse any string in ``document`` written as a decimal number whose exponent exceeds the bound,
    before a checker turns it into a ``Fraction`` (which for ``"1e999999999"`` would not finish)."""
    for item, _ in _walk(document):
        if isinstance(item, str) and "e" in item.lower():
            for part in item.split("/"):
                match = _DECIMAL.fullmatch(part)
                if match and _exponent_too_large(match):
                    shown = item if len(item) <= 60 else item[:57] + "..."
                    raise InputLimitError(f"{source}: {shown!r} has an exponent beyond 10^±{MAX_DECIMAL_EXPONENT}")

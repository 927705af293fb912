"""Errors for bad lsrl programs and inputs, each carrying its source location; all are ``LsrlInputError``s, which the CLI
prints as ``file:line:col: message`` with the line and a caret, exit code 2."""
from __future__ import annotations

from dataclasses import dataclass

from automata.errors import LsrlInputError


@dataclass(frozen=True)
class Location:
    """A position in a source file; ``line`` and ``col`` count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def _window(line: str, col: int, width: int = 100) -> tuple[str, int]:
    """At most ``width`` characters of ``line`` around column ``col``, and the column within them."""
    if len(line) <= width:
        return line, col
    start = max(0, min(col - 1 - width // 2, len(line) - width))
    prefix = "..." if start else ""
    suffix = "..." if start + width < len(line) else ""
    return prefix + line[start:start + width] + suffix, col - start + len(prefix)


class LsrlError(LsrlInputError):
    """A user error in an lsrl program, located at ``location`` when the position is known."""

    def __init__(self, message: str, location: Location | None = None, source_line: str | None = None):
        self.message = message
        self.location = location
        self.source_line = source_line
        self.context: list[str] = []
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.location is not None and self.source_line is not None:
            line, col = _window(self.source_line.rstrip("\r\n").replace("\t", " "), self.location.col)
            text += f"\n  {line}\n  {' ' * (col - 1)}^"
        return "\n".join([text, *self.context])

    def with_source(self, line: str) -> LsrlError:
        """Attach the text of the offending line, to print a caret under the column."""
        if self.source_line is None:
            self.source_line = line
            self.args = (self._render(),)
        return self

    def add_context(self, note: str) -> LsrlError:
        """Append a line such as ``in macro f called at prog.lsrl:3:9``."""
        self.context.append(note)
        self.args = (self._render(),)
        return self


class LsrlSyntaxError(LsrlError):
    """Text that the grammar does not accept (lark's exceptions are converted to this)."""


class UndefinedName(LsrlError):
    """A name that no ``let``, ``input``, parameter, ``def`` or builtin defines."""


class DuplicateName(LsrlError):
    """A name bound twice in one scope, or a ``def`` that would shadow a builtin."""


class ShapeError(LsrlError):
    """Operands whose shapes do not fit; the message names both shapes."""


class LsrlTypeError(LsrlError):
    """A value of the wrong kind: a signal where a constant is needed, a matrix where a vector is."""


class ArityError(LsrlError):
    """A call with missing, surplus or unknown arguments."""


class MacroRecursion(LsrlError):
    """A ``def`` that calls itself, directly or through others (macros are expanded, so this cannot end)."""


class LsrlValueError(LsrlError):
    """A constant out of its domain: division by zero, a non-integer index, an oversized dimension."""


class ModuleError(LsrlError):
    """A ``use`` of a module that does not exist, is not readable, or uses itself."""


class InputValueError(LsrlError):
    """Inputs given to the interpreter that do not fit the program's declared inputs."""

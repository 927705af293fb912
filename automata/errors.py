"""Error types for bad automata input: each names the offending state, symbol or position."""
from __future__ import annotations


class LsrlInputError(ValueError):
    """Base of every error caused by a user's input; the CLI prints it and exits with code 2."""


class AutomatonError(LsrlInputError):
    """A malformed automaton: the message names the state and symbol involved."""

    def __init__(self, message: str, state: object | None = None, symbol: object | None = None):
        where = []
        if state is not None:
            where.append(f"state {state!r}")
        if symbol is not None:
            where.append(f"symbol {symbol!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.state = state
        self.symbol = symbol


class MissingTransition(AutomatonError):
    """A transition function that is not total."""


class UnknownSymbol(LsrlInputError):
    """A string contains a symbol outside the automaton's alphabet."""

    def __init__(self, symbol: str, position: int, alphabet: tuple[str, ...]):
        shown = ", ".join(repr(a) for a in alphabet[:20]) + (", ..." if len(alphabet) > 20 else "")
        super().__init__(f"unknown symbol {symbol!r} at position {position}; the alphabet is {{{shown}}}")
        self.symbol = symbol
        self.position = position


class FileFormatError(LsrlInputError):
    """A malformed automaton file: the message names the file and the field."""


class RegexSyntaxError(LsrlInputError):
    """An invalid regular expression: the message shows the position with a caret line."""

    def __init__(self, message: str, regex: str, position: int, width: int = 100):
        start = max(0, min(position - width // 2, len(regex) - width))  # a window around the column
        shown = ("..." if start else "") + regex[start:start + width] + ("..." if start + width < len(regex) else "")
        caret = " " * (position - start + (3 if start else 0)) + "^"
        super().__init__(f"invalid regex at column {position + 1}: {message}\n  {shown}\n  {caret}")
        self.regex = regex
        self.position = position


class InvalidOption(LsrlInputError):
    """An option that is malformed or does not apply (to the architecture, the training run, the curriculum): the
    message names the field, the value and what it must be (an unknown architecture is ``UnknownArchitecture``)."""


class UnknownArchitecture(LsrlInputError):
    """A name that is neither a canonical architecture name nor an alias (``models.registry``), or a classifier
    class that ``automata.classify`` does not know; the message lists the names."""


class UnknownTask(LsrlInputError):
    """A task name that the task library does not know; the message lists the known ones."""

"""The sizes lsrl refuses before allocating, each with the command-line flag that raises it for one command
(``lsrl.cli`` sets them from the flags; library callers may call ``raise_limits``)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from automata.bounded_input import InputLimitError


@dataclass(frozen=True)
class Limit:
    name: str
    default: int
    what: str  # what is counted, as in "N {what}"

    @property
    def flag(self) -> str:
        return f"--max-{self.name}"


LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit("transitions", 2**24, "transitions (states x symbols) of a DFA"),
    Limit("states", 65536, "states of a DFA under construction"),
    Limit("elements", 200_000, "elements of a transition monoid"),
    Limit("parameters", 2**27, "parameters of a model"),  # 512 MB in float32; the checker holds several copies
)}
_values: dict[str, int] = {}
_offered: frozenset[str] | None = None  # the limits the running command has flags for; None: all (library use)
SHOWN = 10**18  # sizes past this are written "more than 10^18" (a size may be math.inf: too many to count)


def value(name: str) -> int:
    """The limit ``name`` now: its default unless raised (or lowered) for this process."""
    return _values.get(name, LIMITS[name].default)


def raise_limits(**values: int) -> None:
    """Set limits for this process, e.g. ``raise_limits(states=10**6)``."""
    unknown = sorted(set(values) - set(LIMITS))
    if unknown:
        raise KeyError(f"unknown limits {unknown}; known: {', '.join(LIMITS)}")
    _values.update(values)


def in_force() -> dict[str, int]:
    """Every limit's value now (a worker process is given them with ``raise_limits``)."""
    return {name: value(name) for name in LIMITS}


class LimitExceeded(InputLimitError):
    """A size past one of ``LIMITS`` (``bound``: the one in force, by default the process's); the message says
    what is too large, then names the limit and its flag."""

    def __init__(self, name: str, message: str, bound: int | None = None):
        flag = LIMITS[name].flag
        super().__init__(f"{message} (more than {flag} {value(name) if bound is None else bound}; pass a larger "
                         f"{flag} to go on)")
        self.limit = name


def applies(name: str) -> bool:
    """Whether the running command takes the flag of limit ``name`` (every limit applies to library callers); a
    size that only some commands meet (a monoid's elements) is checked early only where its flag can raise it."""
    return _offered is None or name in _offered


def count(size: int | float) -> str:
    """``size`` as a message writes it: ``362,880``, or ``more than 10^18``."""
    return f"{size:,}" if size <= SHOWN else "more than 10^18"  # NaN too: a size too large to count


def check(name: str, size: int | float, where: str) -> None:
    """``LimitExceeded`` if ``size`` is past the limit ``name``; ``where`` names the input."""
    if not size <= value(name):  # a NaN size is refused too
        raise LimitExceeded(name, f"{where}: {count(size)} {LIMITS[name].what}")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...] = tuple(LIMITS)) -> None:
    """The flags of the limits ``names`` (a command sets them with ``from_arguments``)."""
    for name in names:
        limit = LIMITS[name]
        parser.add_argument(limit.flag, type=_positive, default=None, metavar="N",
                            help=f"refuse more than N {limit.what} (default {limit.default:,})")


def reset() -> None:
    """Every limit at its default and applying (a command's flags end with the command)."""
    global _offered
    _offered = None
    _values.clear()


def from_arguments(args: argparse.Namespace) -> None:
    """The limits a command's flags give, the defaults for the others (a process may run several commands)."""
    global _offered
    _offered = frozenset(name for name in LIMITS if hasattr(args, f"max_{name}"))
    _values.clear()
    raise_limits(**{name: given for name in LIMITS
                    if (given := getattr(args, f"max_{name}", None)) is not None})

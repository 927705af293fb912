"""Errors of program compilation: a construct that the chosen architecture cannot realise exactly."""
from __future__ import annotations

from pathlib import Path

from lsrl.lang.errors import Location, LsrlError


def _source_line(location: Location | None) -> str | None:
    """The text of the line at ``location``, when the file can be read."""
    if location is None:
        return None
    try:
        lines = Path(location.file).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[location.line - 1] if 0 < location.line <= len(lines) else None


class ConstructNotExpressible(LsrlError):
    """``construct`` (at ``location``) of a program has no exact realisation in ``arch``; ``reason`` says why.
    (An automaton that a class provably cannot compute is ``lsrl.constructions.errors.NotExpressible``.)"""

    def __init__(self, arch: str, construct: str, reason: str, location: Location | None):
        super().__init__(f"{arch} cannot express {construct}: {reason}", location, _source_line(location))
        self.arch = arch
        self.construct = construct
        self.reason = reason


class InexactInFloat(ConstructNotExpressible):
    """An output that the float analysis cannot prove exact in ``dtype`` (or, with ``approximate``, cannot
    bound); located at the construct where rounding first enters, with its macro call chain."""

    def __init__(self, arch: str, dtype: str, output: str, what: str, reason: str, location: Location | None,
                 approximate: bool):
        advice = ("no error bound is proved either" if approximate
                  else "compile with --approximate to accept a proved error bound instead")
        super().__init__(arch, f"output {output!r} exactly in {dtype}",
                         f"{what} rounds: {reason}; {advice}", location)
        self.dtype = dtype
        self.output = output

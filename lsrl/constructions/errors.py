"""Errors of automaton compilation: a class that provably cannot express the automaton, and a class
for which no construction is implemented for it (yet). Both are user-input errors (CLI exit code 2)."""
from __future__ import annotations

from automata.errors import InvalidOption, LsrlInputError

__all__ = ["InvalidOption", "NotExpressible", "NotImplementedConstruction"]  # InvalidOption: automata.errors


class NotExpressible(LsrlInputError):
    """The classifier proves that no model of the architecture class computes the automaton; the
    message carries the theorem, its reference, any complexity assumption it rests on, and ``hint``: the
    class that can (e.g. "needs negative eigenvalues: try mamba-neg")."""

    def __init__(self, arch: str, statement: str, reference: str, condition: str | None = None,
                 hint: str | None = None):
        assumption = f" (assuming {condition})" if condition else ""
        after = f"; {hint}" if hint else ""
        super().__init__(f"{arch} cannot compute this automaton{assumption}, by a theorem: {statement} "
                         f"[{reference}]{after}")
        self.arch = arch
        self.statement = statement
        self.reference = reference
        self.condition = condition


class NotImplementedConstruction(LsrlInputError):
    """The class is not known to be unable to compute the automaton, but no construction here builds
    it; ``missing`` says what the available constructions need or lack."""

    def __init__(self, arch: str, missing: str):
        super().__init__(f"no {arch} construction for this automaton is implemented: {missing}")
        self.arch = arch
        self.missing = missing


"""Constructions of exact weights that make a model of some architecture class simulate a DFA."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it, loaded on first use (the constructions pull torch and the monoid code).
# One construction per class is reached through select.CONSTRUCTIONS; the compiler reuses householder's factors.
_EXPORTS = {name: module for module, names in {
    "select": ("CONSTRUCTIONS", "check_expressible", "compile_automaton"),
    "result": ("CompiledAutomaton",),
    "labelling": ("minimal_labelled", "resolve_labels"),
    "householder": ("Factor", "letter_factors", "transpositions"),
    "errors": ("InvalidOption", "NotExpressible", "NotImplementedConstruction"),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)

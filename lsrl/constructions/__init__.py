"""Constructions of exact weights that make a model of some architecture class simulate a DFA."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use (the constructions pull torch and the monoid code).
# One construction per class is reached through select.CONSTRUCTIONS; the compiler reuses householder's factors.
__all__, __getattr__ = lazy_exports(__name__, {
    "select": ("CONSTRUCTIONS", "check_expressible", "compile_automaton"),
    "result": ("CompiledAutomaton",),
    "labelling": ("minimal_labelled", "resolve_labels"),
    "householder": ("Factor", "letter_factors", "transpositions"),
    "errors": ("InvalidOption", "NotExpressible", "NotImplementedConstruction"),
})

"""lsrl: a language and compiler from programs and finite automata to exact recurrent models."""
from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

# Public name -> the module directly in lsrl/ that defines it, loaded on first use: every lsrl.* import runs this file.
# The sub-packages (lang, compiler, constructions, training, reproduce, cli) export their own APIs.
_EXPORTS = {name: module for module, names in {
    "artifacts": ("CompileReport", "bounded_certificate", "bounded_statement", "compile_language", "verified",
                  "verify_directory"),
    "sources": ("Language", "resolve_language"),
    "extraction": ("Extraction", "extract_automaton", "labelled_counterexample", "relation"),
    "export": ("ExportRefused", "hf_cache", "load_fla", "to_fla"),
    "suite": ("SuiteError", "SuiteResult", "read_records", "run_suite"),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)

"""lsrl: a language and compiler from programs and finite automata to exact recurrent models."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

__version__ = "0.1.0"

# Public name -> the module directly in lsrl/ that defines it, loaded on first use: every lsrl.* import runs this file.
# The sub-packages (lang, compiler, constructions, training, reproduce, cli) export their own APIs.
__all__, __getattr__ = lazy_exports(__name__, {
    "artifacts": ("CompileReport", "bounded_certificate", "bounded_statement", "compile_language", "verified",
                  "verify_directory"),
    "sources": ("Language", "resolve_language"),
    "extraction": ("Extraction", "extract_automaton", "labelled_counterexample", "relation"),
    "export": ("ExportRefused", "hf_cache", "load_fla", "to_fla"),
    "suite": ("SuiteError", "SuiteResult", "read_records", "run_suite"),
})

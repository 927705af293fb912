"""The lsrl language: grammar, parser, AST, checker (to a primitive graph), builtins and reference interpreter."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it; loaded on first use, so importing one module of the
# language (``lsrl.lang.errors``, say) does not load the parser and numpy with it. ``check.check`` is reached through
# its module: once ``lsrl.lang.check`` is imported, the package attribute ``check`` is that module.
__all__, __getattr__ = lazy_exports(__name__, {
    "parser": ("parse_file", "parse_text"),
    "check": ("check_file",),
    "graph": ("CheckedProgram", "Input"),
    "interpreter": ("evaluate", "interpret"),
    "textio": ("encode_text", "format_outputs"),
    "errors": ("InputValueError", "Location", "LsrlError", "LsrlSyntaxError", "LsrlTypeError", "LsrlValueError"),
})

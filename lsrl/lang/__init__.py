"""The lsrl language: grammar, parser, AST, checker (to a primitive graph), builtins and reference interpreter."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it; loaded on first use, so importing one module of the
# language (``lsrl.lang.errors``, say) does not load the parser and numpy with it. ``check.check`` is reached through
# its module: once ``lsrl.lang.check`` is imported, the package attribute ``check`` is that module.
_EXPORTS = {
    "parse_file": "parser", "parse_text": "parser",
    "check_file": "check",
    "CheckedProgram": "graph", "Input": "graph",
    "interpret": "interpreter", "evaluate": "interpreter",
    "encode_text": "textio", "format_outputs": "textio",
    "Location": "errors", "LsrlError": "errors", "LsrlSyntaxError": "errors", "LsrlTypeError": "errors",
    "LsrlValueError": "errors", "InputValueError": "errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)

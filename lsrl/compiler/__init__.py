"""The compiler from checked lsrl programs to layered recurrent models, one module per pass (docs/compiler.md)."""
from __future__ import annotations

from importlib import import_module

# Public name -> the module that defines it, loaded on first use (the passes pull the backends and torch).
# compile_program runs the passes fold -> dce -> observe -> fuse -> ranges -> schedule -> lower -> backends.<arch>
# -> rounding (the float gate); a pass's function is reached through its module (fold.fold, fuse.fuse).
_EXPORTS = {name: module for module, names in {
    "pipeline": ("CompiledProgram", "Disagreement", "compare", "compile_program", "correct_up_to"),
    "verify": ("ProgramClaimError", "compile_options", "parse_input_range", "parse_param", "verify_program"),
    "ranges": ("InputRanges", "Interval", "Lattice", "analyse"),
    "errors": ("ConstructNotExpressible", "InexactInFloat"),
}.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)

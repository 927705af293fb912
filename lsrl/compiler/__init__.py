"""The compiler from checked lsrl programs to layered recurrent models, one module per pass (docs/compiler.md)."""
from __future__ import annotations

from automata.lazy_exports import lazy_exports

# Public name -> the module that defines it, loaded on first use (the passes pull the backends and torch).
# compile_program runs the passes fold -> dce -> observe -> fuse -> ranges -> schedule -> lower -> backends.<arch>
# -> rounding (the float gate); a pass's function is reached through its module (fold.fold, fuse.fuse).
__all__, __getattr__ = lazy_exports(__name__, {
    "pipeline": ("CompiledProgram", "Disagreement", "compare", "compile_program", "correct_up_to"),
    "verify": ("ProgramClaimError", "compile_options", "parse_input_range", "parse_param", "verify_program"),
    "ranges": ("InputRanges", "Interval", "Lattice", "analyse"),
    "errors": ("ConstructNotExpressible", "InexactInFloat"),
})

"""The compiler from checked lsrl programs to layered recurrent models (Tracr-style, one module per pass):

``fold`` (constant folding) -> ``dce`` (dead nodes) -> ``fuse`` (affine forms over materialised atoms)
-> ``ranges`` (interval and lattice analysis) -> ``schedule`` (as-soon-as-possible phases) -> ``lower``
(stream layout and per-layer units) -> ``backends.<arch>`` (how one layer is realised) -> weights.
Entry point: ``lsrl.compiler.pipeline.compile_program``.
"""

"""The compiler's entry point: a checked program, an architecture and a dtype to a model whose outputs are
proved exact in that dtype (or, asked for, within a proved error bound), run on the interpreter's inputs."""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from automata.errors import InvalidOption
from lsrl.compiler.backends import Backend, Context, backend
from lsrl.compiler.dce import eliminate_dead_code
from lsrl.compiler.errors import ConstructNotExpressible, InexactInFloat
from lsrl.compiler.fold import fold
from lsrl.compiler.fuse import fuse
from lsrl.compiler.lower import Plan, build_model, plan
from lsrl.compiler.observe import reduce_states
from lsrl.compiler.ranges import INF, Bound, InputRanges, Interval, Lattice, analyse
from lsrl.compiler.rounding import SIGNIFICAND_BITS, OutputError, output_errors
from lsrl.lang.errors import InputValueError, Location
from lsrl.lang.graph import CheckedProgram, Node, exact
from models.origin import ProgramIO, ProgramOrigin
from models.stack import RecurrentModel
from proofs.cyclotomic import Algebraic

BOUND_ASSUMPTIONS = ("IEEE binary arithmetic in the dtype, round to nearest, any summation order in matrix products "
                     "(no TF32 or other reduced-precision accumulation)",
                     "recurrences evaluated step by step (the PyTorch reference path, kernels.scan.naive on the CPU); "
                     "a chunked kernel multiplies gates in another order and is not covered",
                     "each complex product with relative error at most sqrt(2) gamma_2 (Higham 2002, Lemma 3.5)")


def program_hash(program: CheckedProgram) -> str:
    """sha256 of the program's source files and its checked graph."""
    digest = hashlib.sha256()
    for name in program.files:
        path = Path(name)
        digest.update(path.read_bytes() if path.is_file() else name.encode())
    digest.update(program.dump().encode())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class CompiledProgram:
    """A model computing every output of ``program`` at every step (readout logits = output values)."""

    program: CheckedProgram
    model: RecurrentModel
    plan: Plan
    arch: str
    dtype: str = "float64"
    errors: tuple[OutputError, ...] = ()  # per output, the proved bound on the error in ``dtype`` (0: exact)
    max_length: int | None = None
    correct_up_to: int | None = None  # inexact: the length up to which every output rounds to its exact value

    @property
    def exact(self) -> bool:
        return all(e.bound == 0 for e in self.errors)

    def run(self, inputs: Mapping[str, object] | np.ndarray | list, dtype: torch.dtype | None = None
            ) -> dict[str, np.ndarray]:
        """The outputs by name, like ``lsrl.lang.interpreter.interpret(..., exact=False)``: inputs (T, dim) or
        (B, T, dim) per input name (a bare array for a single input), inside the declared ranges and
        length (``InputValueError`` otherwise); the model runs in ``dtype`` (by default the proved one)."""
        if not isinstance(inputs, Mapping):
            inputs = {self.program.inputs[0].name: inputs}
        arrays = []
        for node in self.program.inputs:
            if node.name not in inputs:
                raise InputValueError(f"no value given for input {node.name!r}")
            a = np.asarray(inputs[node.name], dtype=object)
            a = a[..., None] if a.ndim == 1 and node.dim == 1 else a
            self.check_contract(node, a)
            arrays.append(a.astype(np.float64))
        dtype = getattr(torch, self.dtype) if dtype is None else dtype
        single = arrays[0].ndim == 2
        x = torch.from_numpy(np.concatenate([a[None] if single else a for a in arrays], axis=-1)).to(dtype)
        model = self.model.to(dtype)
        with torch.no_grad():  # some recurrences cannot stack zero steps; an empty run has empty outputs
            y = model(x).to(torch.float64).numpy() if x.shape[1] else np.zeros((*x.shape[:2], len(self.plan.readout)))
        out, start = {}, 0
        for name, node in self.program.outputs:
            out[name] = y[0, :, start:start + node.dim] if single else y[:, :, start:start + node.dim]
            start += node.dim
        return out

    def claims(self) -> dict[str, object]:
        """What config.json states and ``lsrl verify`` re-derives: exactness in the dtype, each output's proved error
        bound (rounded up to a float; 0.0: exact) and, for an inexact model, the bounded claim (``correct_up_to``)."""
        bounds = {e.name: math.nextafter(float(e.bound), math.inf) if e.bound else 0.0 for e in self.errors}
        out: dict[str, object] = {"exact_in_dtype": self.exact, "error_bounds": bounds}
        if self.correct_up_to is not None:
            out["bounded"] = {"correct_up_to_length": self.correct_up_to,
                              "grids": {name: [[str(g.step), str(g.offset)] for g in lattices]
                                        for name, lattices in grids(self.plan).items()},
                              "statement": f"for inputs in the declared ranges of at most {self.correct_up_to} steps, "
                                           "every output component rounded to the nearest point of its grid "
                                           "offset + step Z is the exact interpreter's value at every step",
                              "assumptions": list(BOUND_ASSUMPTIONS)}
        return out

    def check_contract(self, node: Node, values: np.ndarray) -> None:
        """Refuse values of an input outside the ranges and length the model was compiled (and proved) for."""
        if self.max_length is not None and values.ndim >= 2 and values.shape[-2] > self.max_length:
            raise InputValueError(f"input {node.name!r} has {values.shape[-2]} steps, more than the "
                                  f"--max-length {self.max_length} the model was compiled for")
        if node.alphabet is not None:
            return
        for i in range(node.dim):
            interval = self.plan.ctx.ranges.atoms[self.plan.ctx.program.input(node.name), i]
            if interval.lattice is None and interval.magnitude == INF and interval.lo < interval.hi:
                continue
            for index, v in np.ndenumerate(values[..., i]):
                if not _inside(Fraction(v), interval):
                    step = index[-1] + 1
                    raise InputValueError(f"input {node.name!r}, component {i}, step {step}: {v} is outside the "
                                          f"declared range {interval} (--input-range) the model was compiled for")

    def size(self) -> dict[str, int]:
        """Layers, stream width, numbers carried per step, MLP units, parameters (stored entries) and nonzero ones."""
        config = self.model.config
        return {"layers": len(config.layers), "d_model": config.d_model,
                "state": sum(block.recurrence.state_size for block in self.model.blocks),
                "mlp_hidden": sum(layer.mlp_hidden for layer in config.layers),
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "nonzero": sum(int(p.count_nonzero()) for p in self.model.parameters())}


def _inside(v: Fraction, interval: Interval) -> bool:
    lattice = interval.lattice
    on_grid = lattice is None or (v == lattice.offset if lattice.step == 0 else (v - lattice.offset) % lattice.step == 0)
    return interval.lo <= v <= interval.hi and on_grid


def compile_program(program: CheckedProgram, arch: str, input_ranges: InputRanges | None = None,
                    max_length: int | None = None, dtype: str = "float64", approximate: bool = False
                    ) -> CompiledProgram:
    """Fold, remove dead code, fuse, analyse ranges (inputs in ``input_ranges``, sequences of at most
    ``max_length`` steps), schedule and lower ``program`` for ``arch`` (``backends.BACKENDS``), and prove
    every output exact in ``dtype`` (``rounding.output_errors``). Raises ``ConstructNotExpressible`` for a construct
    that ``arch`` cannot realise exactly, and its subclass ``InexactInFloat`` for an output not proved
    exact in ``dtype`` (with ``approximate``: only for one without a finite error bound)."""
    if dtype not in SIGNIFICAND_BITS:
        raise InvalidOption(f"unknown dtype {dtype!r} for programs; known: {', '.join(SIGNIFICAND_BITS)}")
    target = backend(arch)
    simplified, lowered, errors = _lowered(eliminate_dead_code(fold(program)), target, input_ranges, max_length, dtype)
    for error in errors:
        if error.bound == INF or (error.bound and not approximate):
            raise _refusal(target.name, dtype, error, simplified, approximate)
    length = correct_up_to(lowered, dtype, max_length) if approximate and any(e.bound for e in errors) else None
    origin = ProgramOrigin(program_hash(program), arch, max_length,
                           tuple(ProgramIO(i.name, i.dim, tuple(i.alphabet) if i.alphabet else None)
                                 for i in program.inputs),
                           tuple(ProgramIO(name, node.dim) for name, node in program.outputs))
    return CompiledProgram(program, build_model(lowered, origin), lowered, arch, dtype, errors, max_length, length)


Lowered = tuple[CheckedProgram, Plan, tuple[OutputError, ...]]


def _lower(program: CheckedProgram, target: Backend, input_ranges: InputRanges | None, max_length: int | None,
           dtype: str) -> Lowered:
    forms = fuse(program)
    lowered = plan(Context(program, forms, analyse(program, forms, input_ranges, max_length)), target)
    return program, lowered, output_errors(lowered, dtype, max_length)


def _lowered(simplified: CheckedProgram, target: Backend, input_ranges: InputRanges | None, max_length: int | None,
             dtype: str) -> Lowered:
    """The program lowered with its LTI states reduced to their observable part (``observe``) when that is exact,
    else whichever of the reduced and the unreduced program has the smaller proved error (the unreduced on a tie,
    and its refusal when both are refused)."""
    reduced = reduce_states(simplified, fuse(simplified))
    chosen: Lowered | None = None
    if reduced is not None:
        try:
            chosen = _lower(reduced, target, input_ranges, max_length, dtype)
        except ConstructNotExpressible:
            chosen = None
        if chosen is not None and not any(e.bound for e in chosen[2]):
            return chosen
    try:
        original = _lower(simplified, target, input_ranges, max_length, dtype)
    except ConstructNotExpressible:
        if chosen is None:
            raise
        return chosen
    worst = lambda low: max((e.bound for e in low[2]), default=Fraction(0))  # noqa: E731
    return original if chosen is None or worst(original) <= worst(chosen) else chosen


def grids(plan: Plan) -> dict[str, list[Lattice | None]]:
    """Per output, per component: the lattice offset + step Z that holds its exact values (None: not proven)."""
    rows = iter(plan.readout)
    return {name: [plan.ctx.ranges.row(next(rows)).lattice for _ in range(node.dim)]
            for name, node in plan.ctx.program.outputs}


def _half_step(lattices: list[Lattice | None]) -> Bound:
    """Half the smallest grid step of an output (inf for single values, 0 where no grid is proven)."""
    return min((INF if g.step == 0 else g.step / 2) if g is not None else Fraction(0) for g in lattices)


def correct_up_to(plan: Plan, dtype: str, max_length: int | None) -> int | None:
    """The bounded claim of an inexact model: the largest L <= ``max_length`` for which every output's proved error
    bound, for inputs of at most L steps, is below half the step of the grid holding its exact values, so that
    rounding the output to the nearest grid point gives the exact value at every step (None: not even L = 1).
    The bounds grow with L, so the largest such L is found by bisection."""
    if max_length is None:
        return None
    margins = {name: _half_step(lattices) for name, lattices in grids(plan).items()}

    def holds(length: int) -> bool:
        return all(e.bound < margins[e.name] for e in output_errors(plan, dtype, length))

    if not holds(1):
        return None
    lo, hi = 1, max_length
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if holds(mid) else (lo, mid - 1)
    return lo


def _refusal(arch: str, dtype: str, error: OutputError, program: CheckedProgram, approximate: bool) -> InexactInFloat:
    """The error naming where rounding enters the output, with the macro calls that built it."""
    cause = error.cause
    location: Location | None = cause.node.loc if cause else None
    refusal = InexactInFloat(arch, dtype, error.name, cause.what if cause else "the model",
                             cause.reason if cause else "no bound is proved", location, approximate)
    for note in program.chains.get(cause.node.id, ()) if cause else ():
        refusal.add_context(note)
    return refusal


@dataclass(frozen=True)
class Disagreement:
    """The first step (from 0), output and component where the model is off by more than its bound."""

    step: int
    output: str
    want: list[Fraction]
    got: list[float]


def compare(compiled: CompiledProgram, want: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]
            ) -> tuple[Disagreement | None, Bound]:
    """The first disagreement of the model's outputs ``got`` (from ``run``, in its dtype) with the exact
    interpreter's ``want`` beyond each output's proved bound (0 for exact outputs), compared exactly as
    rationals; and the largest error seen."""
    bounds = {e.name: e.bound for e in compiled.errors}
    largest: Bound = Fraction(0)
    for t in range(min((len(v) for v in want.values()), default=0)):
        for name, values in want.items():
            errors = [abs(Fraction(float(g)) - exact(w)) if math.isfinite(g) else INF
                      for w, g in zip(values[t], got[name][t])]  # exact: Algebraic for irrational values
            largest = max(largest, *(e.bounds()[1] if isinstance(e, Algebraic) else e for e in errors))
            if any(e > bounds.get(name, 0) for e in errors):
                return Disagreement(t, name, list(values[t]), got[name][t].tolist()), largest
    return None, largest

"""The compiler's entry point: a checked program and an architecture to a model with exact weights,
and the compiled model run on the interpreter's inputs."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lsrl.compiler.backends import Context, backend
from lsrl.compiler.dce import eliminate_dead_code
from lsrl.compiler.fold import fold
from lsrl.compiler.fuse import fuse
from lsrl.compiler.lower import Plan, build_model, plan
from lsrl.compiler.ranges import InputRanges, analyse
from lsrl.errors import InputValueError
from lsrl.graph import CheckedProgram
from models.stack import RecurrentModel


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

    def run(self, inputs: Mapping[str, object] | np.ndarray | list, dtype: torch.dtype = torch.float64
            ) -> dict[str, np.ndarray]:
        """The outputs by name, like ``lsrl.interpreter.interpret(..., exact=False)``: inputs (T, dim) or
        (B, T, dim) per input name (a bare array for a single input)."""
        if not isinstance(inputs, Mapping):
            inputs = {self.program.inputs[0].name: inputs}
        arrays = []
        for node in self.program.inputs:
            if node.name not in inputs:
                raise InputValueError(f"no value given for input {node.name!r}")
            a = np.asarray(inputs[node.name], dtype=object).astype(np.float64)
            arrays.append(a[..., None] if a.ndim == 1 and node.dim == 1 else a)
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

    def size(self) -> dict[str, int]:
        config = self.model.config
        return {"layers": len(config.layers), "d_model": config.d_model,
                "state": sum(layer.d_state for layer in config.layers),
                "mlp_hidden": sum(layer.mlp_hidden for layer in config.layers),
                "parameters": sum(p.numel() for p in self.model.parameters())}


def compile_program(program: CheckedProgram, arch: str, input_ranges: InputRanges | None = None,
                    max_length: int | None = None) -> CompiledProgram:
    """Fold, remove dead code, fuse, analyse ranges (inputs in ``input_ranges``, sequences of at most
    ``max_length`` steps), schedule and lower ``program`` for ``arch`` (``backends.BACKENDS``).
    Raises ``NotExpressible`` for a construct that ``arch`` cannot realise exactly."""
    target = backend(arch)
    simplified = eliminate_dead_code(fold(program))
    forms = fuse(simplified)
    ctx = Context(simplified, forms, analyse(simplified, forms, input_ranges, max_length))
    lowered = plan(ctx, target)
    meta = {"program_hash": program_hash(program), "compiled_for": arch, "max_length": max_length,
            "inputs": [[i.name, i.dim, list(i.alphabet) if i.alphabet else None] for i in program.inputs],
            "outputs": [[name, node.dim] for name, node in program.outputs]}
    return CompiledProgram(program, build_model(lowered, meta), lowered, arch)

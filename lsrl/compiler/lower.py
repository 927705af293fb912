"""Lowering: the scheduled atoms to a stack of blocks over a residual stream, and the stack to weights.

Each atom gets its own coordinates of the stream (inputs first, in declaration order, then atoms by
phase), which start at zero and receive the atom's value once, from the recurrence or the MLP of the
block it is scheduled in; the stream's skip connections carry it to every later reader. Affine
nodes are never materialised: each linear map of the model applies the fused form it reads. Consumes
a checked program, its forms, ranges and a backend; produces a ``Plan`` and a ``RecurrentModel``."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from lsrl.compiler.backends import Backend, Context, Hidden, write_row
from lsrl.compiler.fuse import Atom, Row, is_atom
from lsrl.compiler.schedule import Kind, block_of, schedule
from lsrl.lang.graph import Input, Node
from models.config import LayerConfig, ModelConfig
from models.stack import RecurrentModel


@dataclass(frozen=True)
class Layout:
    """Where each materialised node's components start in the residual stream."""

    starts: Mapping[Node, int]
    width: int

    def index(self, atom: Atom) -> int:
        return self.starts[atom[0]] + atom[1]


@dataclass(frozen=True)
class BlockPlan:
    """The atoms one block computes: its recurrence's (with their state widths) and its MLP's units."""

    recurrence: tuple[Node, ...]
    layer: LayerConfig
    mlp: tuple[Node, ...]
    hidden: tuple[tuple[Node, Hidden], ...]


@dataclass(frozen=True)
class Plan:
    ctx: Context
    backend: Backend
    layout: Layout
    blocks: tuple[BlockPlan, ...]
    readout: tuple[Row, ...]
    phases: Mapping[Node, int]


def plan(ctx: Context, backend: Backend) -> Plan:
    """Kinds (the backend refuses what it cannot express), phases, layout and blocks."""
    program = ctx.program
    atoms = [n for n in program.nodes if not isinstance(n, Input) and is_atom(n)]
    kinds: dict[Node, Kind] = {node: backend.kind(node, ctx) for node in atoms}
    phases = schedule(program, ctx.forms, kinds)
    ordered = [*program.inputs, *sorted(atoms, key=lambda n: (phases[n], n.id))]
    starts, width = {}, 0
    for node in ordered:
        starts[node] = width
        width += node.dim
    depth = max((block_of(phases[n]) + 1 for n in atoms), default=0)
    blocks = []
    for k in range(depth):
        rec = tuple(n for n in atoms if phases[n] == 2 * k + 1)
        mlp = tuple(n for n in atoms if phases[n] == 2 * k + 2)
        hidden = tuple((n, h) for n in mlp for h in backend.hidden(n, ctx))
        blocks.append(BlockPlan(rec, backend.layer(rec, ctx, len(hidden)), mlp, hidden))
    readout = tuple(row for _, node in program.outputs for row in ctx.forms[node])
    return Plan(ctx, backend, Layout(starts, width), tuple(blocks), readout, phases)


def build_model(p: Plan, meta: Mapping[str, object] | None = None) -> RecurrentModel:
    """The model of the plan with exact weights (float64; cast with ``.to(dtype)``)."""
    program, layout = p.ctx.program, p.layout
    d_input = sum(i.dim for i in program.inputs)
    layers = tuple(b.layer for b in p.blocks)
    config = ModelConfig(p.backend.arch, 0, len(p.readout), layout.width, layers, exact=True, dtype="float64",
                         meta=dict(meta or {}), d_input=d_input)
    with warnings.catch_warnings():  # layers without a recurrence hold zero-size weights
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors is a no-op")
        model = RecurrentModel(config).to(torch.float64)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        offset = 0
        for node in program.inputs:
            for i in range(node.dim):
                model.embedding.weight[layout.index((node, i)), offset + i] = 1.0
            offset += node.dim
        for block, bp in zip(model.blocks, p.blocks):
            p.backend.write(block.recurrence, list(bp.recurrence), layout, p.ctx)
            for j, (node, unit) in enumerate(bp.hidden):
                write_row(block.mlp.up.weight, block.mlp.up.bias, j, unit.row, layout)
                block.mlp.down.weight[layout.index((node, unit.component)), j] += float(unit.coef)
        for r, row in enumerate(p.readout):
            write_row(model.readout.weight, model.readout.bias, r, row, layout)
    return model

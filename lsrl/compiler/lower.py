"""Lowering: the scheduled atoms to a ``Plan`` (a stack of blocks over a residual stream, one coordinate per atom, ported
maps) and the plan to a ``RecurrentModel``'s weights (docs/compiler.md#scheduling-and-layout)."""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import torch

from lsrl.compiler.backends import Backend, Context, Hidden, write_row
from lsrl.compiler.fuse import Atom, Row, is_atom
from lsrl.compiler.schedule import Kind, block_of, schedule
from lsrl.lang.graph import Input, Node
from models.config import LayerConfig, ModelConfig
from models.origin import ProgramOrigin
from models.registry import recurrence_class
from models.stack import RecurrentModel


@dataclass(frozen=True)
class Layout:
    """Where each materialised node's components start in the residual stream."""

    starts: Mapping[Node, int]
    width: int

    def index(self, atom: Atom) -> int:
        return self.starts[atom[0]] + atom[1]

    def channels(self, atoms: Iterable[Atom]) -> tuple[int, ...]:
        """The stream channels of ``atoms``, ascending."""
        return tuple(sorted({self.index(a) for a in atoms}))


class LocalLayout:
    """A ported module's view of the stream: an atom's position among the channels the module reads, or among
    those it writes (the two are disjoint)."""

    def __init__(self, layout: Layout, *channel_lists: tuple[int, ...]):
        self.layout = layout
        self.positions = {c: i for channels in channel_lists for i, c in enumerate(channels)}

    def index(self, atom: Atom) -> int:
        return self.positions[self.layout.index(atom)]


@dataclass
class _Recorder:
    """The layout of a dry run of a backend's ``write``: records every atom the weights it writes refer to."""

    layout: Layout
    atoms: set[Atom] = field(default_factory=set)

    def index(self, atom: Atom) -> int:
        self.atoms.add(atom)
        return self.layout.index(atom)


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


def own(nodes: Iterable[Node]) -> list[Atom]:
    """Every component of ``nodes``."""
    return [(n, i) for n in nodes for i in range(n.dim)]


def ported(p: Plan, bp: BlockPlan) -> LayerConfig:
    """The block's layer with its ports: the channels its recurrence's weights refer to (found by a dry run of the
    backend's ``write`` on a whole-stream module) besides its own atoms, which it writes, and whether its output
    projection adds constants (the threshold cells'); and the channels its MLP's units read and write."""
    recorder = _Recorder(p.layout)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors is a no-op")
        scratch = recurrence_class(p.backend.arch)(p.layout.width, bp.layer, exact=True).to(torch.float64)
    p.backend.write(scratch, list(bp.recurrence), recorder, p.ctx)
    writes = own(bp.recurrence)
    return replace(bp.layer, reads=p.layout.channels(recorder.atoms - set(writes)), writes=p.layout.channels(writes),
                   mlp_reads=p.layout.channels(a for _, unit in bp.hidden for a in unit.row.terms),
                   mlp_writes=p.layout.channels(own(bp.mlp)), out_bias=bool(scratch.out.bias.any()))


def build_model(p: Plan, origin: ProgramOrigin | None = None) -> RecurrentModel:
    """The ported model of the plan with exact weights (float64; cast with ``.to(dtype)``): the inputs are the
    first channels of the stream, and every map holds weights for the channels it reads and writes."""
    program, layout = p.ctx.program, p.layout
    d_input = sum(i.dim for i in program.inputs)
    assert all(layout.index(atom) == c for c, atom in enumerate(own(program.inputs)))
    layers = tuple(ported(p, bp) for bp in p.blocks)
    readout = layout.channels(a for row in p.readout for a in row.terms)
    config = ModelConfig(p.backend.arch, 0, len(p.readout), layout.width, layers, exact=True, dtype="float64",
                         origin=origin, d_input=d_input, ported=True, readout_reads=readout)
    with warnings.catch_warnings():  # layers without a recurrence hold zero-size weights
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors is a no-op")
        model = RecurrentModel(config).to(torch.float64)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        for block, bp, layer in zip(model.blocks, p.blocks, layers):
            p.backend.write(block.recurrence, list(bp.recurrence), LocalLayout(layout, layer.reads, layer.writes), p.ctx)
            up, down = LocalLayout(layout, layer.mlp_reads), LocalLayout(layout, layer.mlp_writes)
            for j, (node, unit) in enumerate(bp.hidden):
                write_row(block.mlp.up.weight, block.mlp.up.bias, j, unit.row, up)
                block.mlp.down.weight[down.index((node, unit.component)), j] += float(unit.coef)
        for r, row in enumerate(p.readout):
            write_row(model.readout.weight, model.readout.bias, r, row, LocalLayout(layout, readout))
    return model

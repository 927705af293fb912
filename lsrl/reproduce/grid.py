"""An experiment's grid of cells, one cell run (classify, compile, train over seeds, extract), and the
sharding of a grid over the ranks of ``torchrun --nproc-per-node N`` with the merge of their results.

Sharding is round-robin (cell i goes to rank i mod N), so ranks get cells of every size; each rank
returns (index, record) pairs, ``torch.distributed.all_gather_object`` collects them, and ``merge``
puts them back in grid order, checking that every cell came back exactly once.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import torch

from automata.tasks import get_task
from lsrl.training.train import TrainConfig, train

T = TypeVar("T")

# Training architecture id (with its gate range) -> the classifier's class.
CLASSIFIER_CLASS = {"diag-01": "diag-01", "diag-neg": "diag-neg", "rotation": "diag-complex",
                    "dense-lrnn": "dense-lrnn", "elman": "nonlinear-rnn", "elman-tanh": "nonlinear-rnn",
                    "lstm": "nonlinear-rnn", "gru": "nonlinear-rnn"}


@dataclass(frozen=True)
class Cell:
    """One grid entry: a task and a class, trained with ``train`` over ``seeds`` (the best seed is
    kept, as Deletang et al. 2023 report the best of their runs), optionally compiled and extracted."""

    label: str
    train: TrainConfig
    seeds: tuple[int, ...] = (0,)
    compile: bool = False
    extract: bool = False

    @property
    def task(self) -> str:
        return self.train.task

    def class_id(self) -> str:
        """The constructions' / classifier's id of the class, or '' where neither covers it."""
        arch, gate = self.train.arch, self.train.resolved_gate_range
        if arch in ("diag", "diag-01", "diag-neg"):
            return "diag-neg" if gate is not None and gate[0] < 0 else "diag-01"
        if arch == "deltaproduct":
            return "deltaproduct" if gate is not None and gate[1] > 1 else ""
        return arch


@dataclass(frozen=True)
class World:
    """This process's rank among ``size`` (``torchrun`` sets RANK, WORLD_SIZE and LOCAL_RANK)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> World:
        env = os.environ
        return cls(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def shard(items: Sequence[T], rank: int, size: int) -> list[tuple[int, T]]:
    """This rank's (index, item) pairs: every ``size``-th item from ``rank``."""
    if not 0 <= rank < size:
        raise ValueError(f"rank {rank} outside world of size {size}")
    return [(i, items[i]) for i in range(rank, len(items), size)]


def merge(shards: Sequence[Sequence[tuple[int, T]]], n: int) -> list[T]:
    """The items of all shards in index order; ValueError unless indices 0..n-1 each appear once."""
    pairs = sorted((pair for part in shards for pair in part), key=lambda pair: pair[0])
    if [i for i, _ in pairs] != list(range(n)):
        raise ValueError(f"shards hold indices {[i for i, _ in pairs]}, expected 0..{n - 1} once each")
    return [item for _, item in pairs]


def verdict(cell: Cell) -> dict[str, Any] | None:
    """The classifier's verdict for the task's accepting language and the cell's class."""
    from automata.classify import classify

    cls = CLASSIFIER_CLASS.get(cell.class_id()) or (cell.class_id() or None)
    if cls is None:
        return None
    v = classify(get_task(cell.task).dfa).verdict(cls)
    return {"class": cls, "status": v.status, "source": v.source,
            "theorem": v.theorem is not None and v.theorem.condition is None}


def compiled(cell: Cell) -> dict[str, Any]:
    """Whether a construction exists here, with its size, or why not."""
    from lsrl.constructions.errors import NotExpressible, NotImplementedConstruction
    from lsrl.constructions.select import compile_automaton

    task = get_task(cell.task)
    try:
        result = compile_automaton(task.dfa, cell.class_id(), task.labels)
    except NotExpressible:
        return {"ok": False, "reason": "not expressible"}
    except NotImplementedConstruction:
        return {"ok": False, "reason": "no construction implemented"}
    return {"ok": True, "construction": result.construction, "size": result.size()}


def run_cell(cell: Cell, device: str | torch.device = "cpu", progress: bool = False) -> dict[str, Any]:
    """The record of one cell: verdict, compilation, the best seed's metrics and its extraction."""
    runs = [train(replace(cell.train, seed=seed), device=device, progress=progress) for seed in cell.seeds]
    best = max(runs, key=lambda r: (r.metrics[-1].token, r.metrics[0].token))
    record: dict[str, Any] = {
        "label": cell.label, "task": cell.task, "arch": cell.train.arch, "class": cell.class_id(),
        "gate_range": cell.train.resolved_gate_range, "n_h": cell.train.n_h, "layers": cell.train.layers,
        "train_length": cell.train.train_length, "verdict": verdict(cell),
        "compiled": compiled(cell) if cell.compile and cell.class_id() else None,
        "best_seed": best.config.seed, "metrics": [m.to_json() for m in best.metrics],
        "seeds": [{"seed": r.config.seed, "final_token": r.metrics[-1].token} for r in runs],
        "wall_time_s": float(np.sum([r.wall_time for r in runs])), "device": best.device}
    if cell.extract:
        from lsrl.extraction import extract_automaton

        task = get_task(cell.task)
        record["extraction"] = extract_automaton(best.model.cpu(), task.dfa, task.labels).to_json()
    return record


def run_grid(cells: Sequence[Cell], device: str | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """Every cell's record in grid order. Under ``torchrun`` each rank runs its shard (on its own GPU
    when there are GPUs) and every rank returns the merged records."""
    world = World.from_env()
    if device is None:
        device = f"cuda:{world.local_rank}" if torch.cuda.is_available() else "cpu"
    mine = [(i, run_cell(cell, device, progress)) for i, cell in shard(cells, world.rank, world.size)]
    if world.size == 1:
        return merge([mine], len(cells))
    import torch.distributed as dist

    owner = not dist.is_initialized()
    if owner:
        dist.init_process_group("nccl" if str(device).startswith("cuda") else "gloo")
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, mine)
    if owner:
        dist.destroy_process_group()
    return merge(gathered, len(cells))

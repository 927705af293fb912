"""An experiment's grid of cells, one cell run (classify, compile, train over seeds, extract), and its sharding over
``torchrun`` ranks with the merge of their results (docs/reproduce.md#full-grid-on-gpus)."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from automata.fileformat import write_atomic
from automata.tasks import get_task
from lsrl.training.train import TrainConfig, train
from models import registry
from models.stack import RecurrentModel

T = TypeVar("T")
# Above this many states the classifier's monoid and the extraction search are out of reach (perm-tokens:5:4 has
# 43,321 states): such cells get no verdict and record why they were not extracted.
MAX_ANALYSED_STATES = 5_000
# A grid's extraction stops at this many clusters per target state, and at least MIN_CLUSTERS: an untrained
# Siems-size model explored to extraction's default limit (121 x 120 clusters for S_5) takes many minutes of CPU
# per tolerance; a model that learned the target or a quotient of it closes its search far below this (its minimal
# automaton has at most as many states; docs/reproduce.md has the measured times).
CLUSTERS_PER_STATE, MIN_CLUSTERS = 4, 256


@dataclass(frozen=True)
class Cell:
    """One grid entry: a task and a class, trained with ``train`` over ``seeds`` (the best seed is
    kept, as Deletang et al. 2023 report the best of their runs), optionally compiled and extracted.
    ``protocol`` is "ours" or "paper" (``lsrl.reproduce.protocol``); ``factor`` names the one setting an
    ablation cell moves away from the paper's protocol ("" for none)."""

    label: str
    train: TrainConfig
    seeds: tuple[int, ...] = (0,)
    compile: bool = False
    extract: bool = False
    protocol: str = "ours"
    factor: str = ""

    def score(self, metrics: Sequence[dict[str, Any]]) -> tuple[float, ...]:
        """What ranks the seeds: the papers' score (mean scaled accuracy over the evaluated lengths, best of 3
        as Grazzi et al. report) in their protocol; ours: token accuracy at the longest, then the first length."""
        if self.protocol == "paper":
            return (float(np.mean([m["scaled"] for m in metrics])), metrics[0]["final"])
        return (metrics[-1]["token"], metrics[0]["token"])

    @property
    def task(self) -> str:
        return self.train.task

    def whole_class(self) -> registry.Architecture | None:
        """The registry's class of the trained model, or None where its gate range is narrower than the
        class's (then the class's constructions and positive verdicts are not about this model)."""
        arch = registry.get(self.train.arch)
        return arch if self.train.resolved_gate_range == arch.gate_range else None


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

    arch = cell.whole_class()
    cls = arch and arch.classifier
    if cls is None or get_task(cell.task).dfa.n_states > MAX_ANALYSED_STATES:
        return None
    v = classify(get_task(cell.task).dfa).verdict(cls)
    return {"class": cls, "status": v.status, "source": v.source,
            "theorem": v.theorem is not None and v.theorem.condition is None}


def _compiles(cell: Cell) -> bool:
    arch = cell.whole_class()
    return arch is not None and arch.has("automaton")


def compiled(cell: Cell) -> dict[str, Any]:
    """Whether a construction exists here, with its size, or why not."""
    from lsrl.constructions.errors import NotExpressible, NotImplementedConstruction
    from lsrl.constructions.select import compile_automaton

    task = get_task(cell.task)
    try:
        result = compile_automaton(task.dfa, cell.train.arch, task.labels)
    except NotExpressible:
        return {"ok": False, "reason": "not expressible"}
    except NotImplementedConstruction:
        return {"ok": False, "reason": "no construction implemented"}
    return {"ok": True, "construction": result.construction, "size": result.size()}


@dataclass(frozen=True)
class Unit:
    """The work one rank does at a time: cell ``index`` trained on ``seeds``. A cell that extracts an
    automaton keeps its seeds in one unit (extraction needs the best of them); others split per seed."""

    index: int
    seeds: tuple[int, ...]


def units(cells: Sequence[Cell]) -> list[Unit]:
    return [u for i, cell in enumerate(cells)
            for u in ([Unit(i, cell.seeds)] if cell.extract else [Unit(i, (seed,)) for seed in cell.seeds])]


def cost(cell: Cell, unit: Unit) -> float:
    """A rough relative cost of a unit: optimiser steps times layers times Householder factors (the
    measured time per step grows about linearly in both, ``bench/training_throughput.py``)."""
    return len(unit.seeds) * cell.train.steps * cell.train.layers * (1 + cell.train.n_h) / 2


def balanced_shard(items: Sequence[T], costs: Sequence[float], rank: int, size: int) -> list[tuple[int, T]]:
    """This rank's (index, item) pairs when items are dealt, most costly first, to the least loaded
    rank (ties to the lowest rank): deterministic, so every rank computes the same partition."""
    if not 0 <= rank < size:
        raise ValueError(f"rank {rank} outside world of size {size}")
    load = [0.0] * size
    mine = []
    for i in sorted(range(len(items)), key=lambda i: (-costs[i], i)):
        owner = min(range(size), key=lambda r: (load[r], r))
        load[owner] += costs[i]
        if owner == rank:
            mine.append((i, items[i]))
    return sorted(mine, key=lambda pair: pair[0])


def _train_unit(cell: Cell, unit: Unit, device: str | torch.device, progress: bool) -> dict[str, Any]:
    """Train ``unit``'s seeds; keep the best run's metrics (and, for an extracting cell, its automaton)."""
    runs = [train(replace(cell.train, seed=seed), device=device, progress=progress) for seed in unit.seeds]
    best = max(runs, key=lambda r: cell.score([m.to_json() for m in r.metrics]))
    result: dict[str, Any] = {
        "best_seed": best.config.seed, "metrics": [m.to_json() for m in best.metrics],
        "seeds": [{"seed": r.config.seed, "final_token": r.metrics[-1].token, "wall_time_s": r.wall_time,
                   "step_s": r.step_time,
                   "metrics": [m.to_json() for m in r.metrics]} for r in runs],
        "wall_time_s": float(np.sum([r.wall_time for r in runs])), "device": best.device}
    if cell.extract:
        result["extraction"] = extraction(cell, best.model.cpu())
    return result


def extraction(cell: Cell, model: RecurrentModel) -> dict[str, Any]:
    """The extracted automaton of a trained model and what it is of the task's ("exact", "quotient", "nothing";
    ``lsrl.extraction.relation``), or why it was not extracted."""
    from lsrl.extraction import extract_automaton, relation

    task = get_task(cell.task)
    if task.dfa.n_states > MAX_ANALYSED_STATES:
        return {"relation": "not extracted", "reason": f"{task.dfa.n_states} states > {MAX_ANALYSED_STATES}"}
    found = extract_automaton(model, task.dfa, task.labels,
                              max_states=max(CLUSTERS_PER_STATE * task.dfa.n_states, MIN_CLUSTERS))
    return {**found.to_json(), "relation": relation(found, task.dfa)}


def cell_record(cell: Cell, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The record of one cell from its units' results: verdict, compilation, the best seed's metrics."""
    seeds = [s for r in results for s in r["seeds"]]
    best = max(seeds, key=lambda s: cell.score(s["metrics"]))
    owner = next(r for r in results if best in r["seeds"])
    record: dict[str, Any] = {
        "label": cell.label, "task": cell.task, "arch": cell.train.arch, "class": cell.train.arch,
        "gate_range": cell.train.resolved_gate_range, "n_h": cell.train.n_h, "layers": cell.train.layers,
        "train_length": cell.train.train_length, "steps": cell.train.steps, "verdict": verdict(cell),
        "compiled": compiled(cell) if cell.compile and _compiles(cell) else None,
        "best_seed": best["seed"], "metrics": best["metrics"],
        "seeds": [{"seed": s["seed"], "final_token": s["final_token"]} for s in seeds],
        "wall_time_s": float(sum(r["wall_time_s"] for r in results)), "device": owner["device"]}
    if cell.protocol != "ours":
        record.update(protocol=cell.protocol, factor=cell.factor, config=cell.train.to_json(),
                      seeds=[{"seed": s["seed"], "score": cell.score(s["metrics"])[0], "wall_time_s": s.get("wall_time_s"),
                              "step_s": s.get("step_s"), "metrics": s["metrics"]} for s in seeds])
    if "extraction" in owner:
        record["extraction"] = owner["extraction"]
    return record


def device_for(world: World) -> str:
    """This rank's device: GPU ``local_rank`` modulo the GPUs present (several ranks may share one
    GPU: small models are bound by kernel launches, so ranks sharing a GPU each keep their speed)."""
    if torch.cuda.is_available():
        return f"cuda:{world.local_rank % torch.cuda.device_count()}"
    return "cpu"


def run_grid(cells: Sequence[Cell], device: str | None = None, progress: bool = False,
             partial: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every cell's record in grid order. Under ``torchrun`` each rank runs its cost-balanced share of
    the units (cell, seeds) and every rank returns the merged records; the gather goes through gloo, so
    ranks may share GPUs. With ``partial``, each finished unit is also written there as it completes
    (a run cut short keeps what it finished)."""
    world = World.from_env()
    device = device or device_for(world)
    work = units(cells)
    costs = [cost(cells[u.index], u) for u in work]
    out = Path(partial) if partial is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    mine = []
    for i, unit in balanced_shard(work, costs, world.rank, world.size):
        result = _train_unit(cells[unit.index], unit, device, progress)
        if out is not None:
            write_atomic(out / f"unit-{i:04d}.json", json.dumps({"unit": i, "cell": unit.index, "label":
                                                                  cells[unit.index].label, "task": cells[unit.index].task,
                                                                  "result": result}) + "\n")
        mine.append((i, result))
    if world.size == 1:
        results = merge([mine], len(work))
    else:
        import torch.distributed as dist

        owner = not dist.is_initialized()
        if owner:
            dist.init_process_group("gloo")
        gathered: list[Any] = [None] * world.size
        dist.all_gather_object(gathered, mine)
        if owner:
            dist.destroy_process_group()
        results = merge(gathered, len(work))
    by_cell: dict[int, list[dict[str, Any]]] = {}
    for unit, result in zip(work, results):
        by_cell.setdefault(unit.index, []).append(result)
    return [cell_record(cell, by_cell[i]) for i, cell in enumerate(cells)]

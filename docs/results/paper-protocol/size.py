"""Size the paper-protocol grids from the throughput phase: the largest --scale (fraction of the papers' steps) at
which every rank's share of the grid, dealt as ``grid.balanced_shard`` deals it, fits SECONDS of wall time."""
from __future__ import annotations

import json
import sys
from dataclasses import replace

from lsrl.reproduce import experiment
from lsrl.reproduce.grid import balanced_shard, cost, units

# Tasks added after the throughput phase, timed as a measured task with the same model and string lengths.
STAND_IN = {"modarith-eq:5": "modarith:5", "S:3": "S:5", "A:5": "S:5", "perm-moves:5:2": "S:5",
            "perm-moves:5:3": "S:5", "perm-tokens:5:4": "S:5"}


def per_step(records: list[dict]) -> dict[tuple[str, str, str, int, int], tuple[float, float]]:
    """(seconds per optimiser step, seconds outside the steps: build, compile, evaluation) of each cell of the
    throughput phase, its slowest seed."""
    return {(r["task"], r["label"], r["factor"], r["n_h"], r["layers"]):
            max((s["step_s"], s["wall_time_s"] - s["step_s"] * r["steps"]) for s in r["seeds"]) for r in records}


def measured(times: dict, task: str, label: str, factor: str, n_h: int, layers: int) -> tuple[float, float]:
    """The measured time of a cell, else of its stand-in task, else of its cell without the factor."""
    for key in ((task, label, factor, n_h, layers), (STAND_IN.get(task, task), label, factor, n_h, layers),
                (STAND_IN.get(task, task), label, "", n_h, layers)):
        if key in times:
            return times[key]
    raise KeyError(f"no measured time for {task} {label} {factor!r} n_h={n_h} layers={layers}")


def rank_seconds(name: str, times: dict, scale: float, ranks: int, seeds: int, tasks: tuple[str, ...] | None,
                 slowdown: float = 1.0, extra: float = 0.0) -> float:
    cells = [replace(c, seeds=c.seeds[:seeds]) for c in experiment(name).cells(False, "paper")
             if tasks is None or c.task in tasks]
    work = units(cells)
    costs = [cost(cells[u.index], u) for u in work]
    loads = []
    for rank in range(ranks):
        loads.append(sum(len(u.seeds) * _seconds(measured(times, c.task, c.label, c.factor, c.train.n_h,
                                                           c.train.layers), max(1, round(c.train.steps * scale)),
                                                  slowdown) + extra
                         for _, u in balanced_shard(work, costs, rank, ranks) for c in [cells[u.index]]))
    return max(loads)


def _seconds(time: tuple[float, float], steps: int, slowdown: float) -> float:
    return time[1] + time[0] * steps * slowdown


# Usage: python3 size.py NAME RECORDS.json TP_SCALE SECONDS RANKS [key=value: seeds=2 tasks=S:4,S:5 slowdown=1.3
# extra=60]. A cell the throughput phase did not run is timed as its stand-in (STAND_IN: the same block and lengths,
# another task), a factor it did not run as the cell without it; slowdown multiplies every step time (the full
# phase of the first call ran 45-60 ms a step where the throughput phase measured 34-48, about 1.3x); extra adds
# seconds per unit (extraction).
def main() -> None:
    name, records, _, seconds, ranks, *options = sys.argv[1:]
    opts = dict(o.split("=", 1) for o in options)
    times = per_step(json.load(open(records))["records"])
    seeds, tasks = int(opts.get("seeds", 3)), tuple(opts["tasks"].split(",")) if "tasks" in opts else None
    slowdown, extra = float(opts.get("slowdown", 1.0)), float(opts.get("extra", 0.0))
    low, high = 1e-4, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        fits = rank_seconds(name, times, mid, int(ranks), seeds, tasks, slowdown, extra) <= float(seconds)
        low, high = (mid, high) if fits else (low, mid)
    print(f"{low:.4f}")


if __name__ == "__main__":
    main()

"""Training throughput of the reproduction grids' cells on one device: milliseconds per optimiser step, for one
process alone and for --procs processes sharing the device."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from dataclasses import replace
from pathlib import Path

import torch

from bench.environment import environment
from lsrl.training.curriculum import Curriculum

CELLS = (("parity", "diag-neg", {}), ("S:5", "deltaproduct", {"n_h": 4, "d_state": 32}),
         ("modarith:5", "deltaproduct", {"layers": 2}), ("S:3", "deltaproduct", {"n_h": 1, "d_state": 32}))


def _time_cell(args: tuple[str, str, dict, int, str]) -> float:
    from lsrl.reproduce import budget
    from lsrl.training.train import train

    task, arch, changes, steps, device = args
    torch.set_num_threads(1)
    config = replace(budget.config(False, task, arch, **changes), steps=steps, warmup=1,
                     curriculum=Curriculum(40, 40, 0.0), eval_lengths=(40,), eval_n=8)
    train(replace(config, steps=5), device=device)  # warm-up: kernels compiled, caches filled
    started = time.perf_counter()
    train(config, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
At the full budget's sizes (lsrl.reproduce.budget.FULL) and the longest training length; several processes
sharing one GPU is how the grids are run.

  python -m bench.training_throughput --procs 1 8 14 --steps 60 --out bench/results/training_throughput.json
""")
    parser.add_argument("--procs", type=int, nargs="+", default=[1])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("bench/results/training_throughput.json"))
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = []
    context = mp.get_context("spawn")
    for task, arch, changes in CELLS:
        for procs in args.procs:
            with context.Pool(procs) as pool:
                started = time.perf_counter()
                ms = pool.map(_time_cell, [(task, arch, changes, args.steps, device)] * procs)
                wall = time.perf_counter() - started
            row = {"task": task, "arch": arch, **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()},
                   "procs": procs, "ms_per_step_each": sorted(ms), "steps_per_s_total": procs * 1000 / max(ms),
                   "wall_s": wall}
            print(json.dumps(row), flush=True)
            results.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": environment(), "train_length": 40, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()

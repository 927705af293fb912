"""Compiled automaton models on long strings on the GPU kernels: every position of random float32 strings compared
with the DFA; writes JSON with the device and versions."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from automata.tasks import get_task
from bench.environment import environment
from lsrl.constructions.select import compile_automaton

PAIRS = (("parity", "diag-neg"), ("flipflop", "diag-01"), ("Z:4", "rotation"), ("mod:3", "rotation"),
         ("S:5", "deltaproduct"), ("A:5", "deltaproduct"), ("modarith:3", "deltaproduct"), ("tomita:3", "deltaproduct"),
         ("dihedral:4", "diag-neg"), ("Q8", "diag-neg"), ("no-aa", "diag-01"), ("tomita:4", "diag-neg"),
         ("dyck:1:2", "diag-01"), ("parity", "elman"), ("parity", "elman-tanh"), ("mod:3", "lstm"), ("S:3", "gru"),
         ("S:5", "lstm"), ("A:5", "gru"))


def run(task_name: str, arch: str, length: int, batch: int, device: str, seed: int) -> dict:
    task = get_task(task_name)
    compiled = compile_automaton(task.dfa, arch, task.labels)
    safe = compiled.model.config.origin.safe_length
    n = min(length, int(safe)) if safe else length
    symbols = np.random.default_rng(seed).integers(0, compiled.dfa.n_symbols, size=(batch, n))
    expected = compiled.labels[compiled.dfa.trace_batch(symbols)]
    model = compiled.model.to(device).float()
    x = torch.as_tensor(symbols, device=device)
    model.predict(x[:, :1000])  # compile the kernels
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    predicted = model.predict(x)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    wrong = np.argwhere(predicted.cpu().numpy() != expected)
    return {"task": task_name, "arch": arch, "construction": compiled.construction, "size": compiled.size(),
            "length": n, "batch": batch, "safe_length": safe, "positions": int(expected.size),
            "wrong_positions": int(len(wrong)), "first_wrong": wrong[0].tolist() if len(wrong) else None,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Strings of length T (--length, default 1,000,000). Drifting rotation models (a proved safe length below T)
run at their safe length instead.

  python -m bench.compiled_long --length 1000000 --out bench/results/compiled_long.json
""")
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/compiled_long.json"))
    parser.add_argument("--only", nargs="*", help="run only these classes (e.g. lstm gru elman-tanh)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = []
    for task, arch in PAIRS:
        if args.only and arch not in args.only:
            continue
        try:
            row = run(task, arch, args.length, args.batch, device, args.seed)
        except Exception as err:  # recorded, not hidden: the summary shows which pair did not run and why
            row = {"task": task, "arch": arch, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": environment(), "results": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

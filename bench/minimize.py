"""Time DFA minimisation on random and chain-shaped DFAs; writes bench/results/minimize.json.

    python bench/minimize.py
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automata.dfa import DFA  # noqa: E402
from automata.generate import random_dfa  # noqa: E402
from automata.minimize import minimize  # noqa: E402
from bench.environment import environment  # noqa: E402


def chain(n: int) -> DFA:
    table = np.zeros((n, 2), dtype=np.int32)
    table[:, 0] = np.minimum(np.arange(n) + 1, n - 1)
    return DFA(("a", "b"), table, 0, frozenset({n - 1}))


def time_median(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    cases = [("random", 10_000, 30, random_dfa(10_000, 30, seed=0)),
             ("random", 10_000, 2, random_dfa(10_000, 2, seed=0)),
             ("random", 50_000, 10, random_dfa(50_000, 10, seed=0)),
             ("chain", 10_000, 2, chain(10_000))]
    rows = []
    for shape, n, k, dfa in cases:
        seconds = time_median(lambda: minimize(dfa))
        rows.append({"shape": shape, "states": n, "symbols": k,
                     "minimal_states": minimize(dfa).n_states, "seconds_median": round(seconds, 4)})
        print(f"{shape:6s} n={n:6d} k={k:3d}: {seconds * 1000:8.1f} ms")
    out = Path(__file__).parent / "results" / "minimize.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"benchmark": "minimize", "environment": environment(), "results": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

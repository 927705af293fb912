"""Wall and CPU seconds of ``lsrl`` processes as a user runs them (the console script, one thread)."""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LSRL = [path] if (path := shutil.which("lsrl")) else [sys.executable, "-m", "lsrl.cli"]


def timed(argv: list[str], expect: int = 0) -> dict[str, float | str]:
    """One ``lsrl`` process: wall and CPU (user + system) seconds, the load average after it and, for an
    expected failure (``expect`` != 0), its last stderr line; any other exit code raises."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*LSRL, *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != expect:
        raise RuntimeError(f"lsrl {' '.join(argv)}: exit {done.returncode}, expected {expect}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run: dict[str, float | str] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                                   "load_average_1min": os.getloadavg()[0]}
    if expect:
        run["message"] = done.stderr.strip().splitlines()[-1]
    return run


def summary(runs: list[dict]) -> dict[str, float]:
    walls, cpus = [r["wall_s"] for r in runs], [r["cpu_s"] for r in runs]
    return {"wall_best_s": min(walls), "wall_median_s": statistics.median(walls),
            "cpu_best_s": min(cpus), "cpu_median_s": statistics.median(cpus)}

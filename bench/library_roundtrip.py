"""Every compiled model of the task library, saved, loaded and re-verified: each is an instance of its trained
counterpart's module classes and its certificate still holds; writes bench/results/library_roundtrip.json."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from automata.tasks import LIBRARY, get_task  # noqa: E402
from bench.environment import environment  # noqa: E402
from lsrl.artifacts import verify_directory  # noqa: E402
from lsrl.suite import run_suite  # noqa: E402
from lsrl.training.train import TrainConfig, build_model  # noqa: E402
from models import checkpoint, registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def round_trip(record: dict[str, Any]) -> dict[str, Any]:
    """Load a kept model, compare its classes with a trained model of the same task and class, and verify it."""
    task_name = record["automaton"].removeprefix("task:")
    directory = Path(record["model"])
    model = checkpoint.load(directory)
    trained = build_model(TrainConfig(task=task_name, arch=record["arch"], d_model=8, d_state=2), get_task(task_name))
    trained_recurrence = type(trained.blocks[0].recurrence)
    row: dict[str, Any] = {
        "task": task_name, "arch": record["arch"], "outcome": record["outcome"],
        "certificate": record.get("certificate"),
        "family": model.config.arch, "trained_family": trained.config.arch,
        "same_classes": (model.config.arch == trained.config.arch and type(model) is type(trained)
                         and all(type(b) is type(trained.blocks[0]) and type(b.recurrence) is trained_recurrence
                                 for b in model.blocks)),
        "classes": sorted({type(b.recurrence).__name__ for b in model.blocks}),
        "trained_classes": [trained_recurrence.__name__]}
    if record["outcome"] == "certified":
        start = time.perf_counter()
        try:
            summary = verify_directory(directory)
            row["verified"], row["verified_kind"] = True, summary["kind"]
        except Exception as err:  # a failure is the finding: record it
            row["verified"], row["error"] = False, f"{type(err).__name__}: {err}"
        row["verify_s"] = round(time.perf_counter() - start, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Runs lsrl suite over the library on every class with an automaton construction (--keep-models), then loads each
model: same model, block and recurrence classes as build_model makes for training that task on that class, and
lsrl verify's check of its certificate. Cells past --timeout are listed, not loaded.

  python bench/library_roundtrip.py --timeout 60
""")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "library_roundtrip.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs = [a.name for a in registry.with_path("automaton")]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lsrl-roundtrip-") as tmp:
        suite = run_suite(["library"], archs, Path(tmp) / "suite", jobs=args.jobs, timeout=args.timeout,
                          keep_models=True, progress=sys.stderr.isatty())
        suite_s = time.perf_counter() - start
        rows = [round_trip(r) for r in suite.records if r["outcome"] in ("certified", "compiled")]
    others = [{"task": r["automaton"].removeprefix("task:"), "arch": r["arch"], "outcome": r["outcome"]}
              for r in suite.records if r["outcome"] not in ("certified", "compiled")]
    result = {
        "benchmark": "library_roundtrip", "environment": environment(), "cpu_count": os.cpu_count(),
        "tasks": list(LIBRARY), "archs": archs, "timeout_s": args.timeout, "suite_wall_s": round(suite_s, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "summary": {"cells": len(suite.records), "loaded": len(rows),
                    "same_classes": sum(r["same_classes"] for r in rows),
                    "certified": sum(r["outcome"] == "certified" for r in rows),
                    "verified": sum(bool(r.get("verified")) for r in rows),
                    "not_loaded": dict(Counter(o["outcome"] for o in others))},
        "rows": rows, "not_loaded": others}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()

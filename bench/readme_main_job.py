"""The README's main job as a user runs it: ``lsrl compile task:S:5 --arch deltaproduct -o DIR`` then ``lsrl verify
DIR``, each a fresh process with one thread; writes bench/results/readme_main_job.json."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import environment  # noqa: E402
from bench.process_timing import LSRL, ROOT, summary, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Wall and CPU seconds of each, best and median of --repeats.

  python bench/readme_main_job.py
""")
    parser.add_argument("--task", default="task:S:5")
    parser.add_argument("--arch", default="deltaproduct")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "readme_main_job.json"))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lsrl-readme-"))
    runs: dict[str, list[dict[str, float]]] = {"compile": [], "verify": []}
    try:
        for i in range(args.repeats):
            directory = scratch / f"run{i}"
            runs["compile"].append(timed(["compile", args.task, "--arch", args.arch, "-o", str(directory)]))
            runs["verify"].append(timed(["verify", str(directory)]))
    finally:
        shutil.rmtree(scratch)
    result: dict[str, Any] = {
        "benchmark": "readme_main_job", "environment": environment(), "threads": 1, "cpu_count": os.cpu_count(),
        "lsrl": " ".join(LSRL), "commands": [f"lsrl compile {args.task} --arch {args.arch} -o DIR", "lsrl verify DIR"],
        "runs": runs, "summary": {name: summary(r) for name, r in runs.items()}}
    result["summary"]["total_wall_best_s"] = round(sum(s["wall_best_s"] for s in result["summary"].values()), 3)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()

"""How long a refusal takes as a user meets it: ``lsrl compile task:S:6 --arch A -o DIR`` (a 720-element group) on
the classes that cannot hold it, each a fresh process with one thread; writes bench/results/refusals.json."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import environment  # noqa: E402
from bench.process_timing import LSRL, ROOT, summary, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Each refusal must exit 2; wall and CPU seconds, best and median of --repeats, and the message.

  python bench/refusals.py
""")
    parser.add_argument("--task", default="task:S:6")
    parser.add_argument("--archs", default="diag-01,diag-neg,rotation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "refusals.json"))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lsrl-refusals-"))
    runs: dict[str, list[dict]] = {}
    try:
        for arch in args.archs.split(","):
            runs[arch] = [timed(["compile", args.task, "--arch", arch, "-o", str(scratch / arch)], expect=2)
                          for _ in range(args.repeats)]
            if (scratch / arch).exists():
                raise RuntimeError(f"the refused compile on {arch} left {scratch / arch}")
    finally:
        shutil.rmtree(scratch)
    result = {"benchmark": "refusals", "environment": environment(), "threads": 1, "cpu_count": os.cpu_count(),
              "lsrl": " ".join(LSRL), "command": f"lsrl compile {args.task} --arch ARCH -o DIR", "runs": runs,
              "summary": {arch: {**summary(r), "message": r[0]["message"]} for arch, r in runs.items()}}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()

"""Run the kernel benchmarks on the GPU and write one JSON per op (rewritten after every row, so a cut-off run keeps
what it measured); then run bench/kernels_summary.py."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import kernels_delta_product, kernels_rnn, kernels_scan  # noqa: E402
from bench.timing import gpu_environment  # noqa: E402

SUITES = {"scan": kernels_scan, "delta_product": kernels_delta_product, "rnn": kernels_rnn}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="  python bench/kernels.py [--out bench/results] [--only scan,delta_product,rnn]")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--only", default=",".join(SUITES))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = gpu_environment()
    _log(json.dumps(env))
    for name in args.only.split(","):
        started = time.perf_counter()
        rows = []
        for row in SUITES[name].run(_log):
            rows.append(row.to_json())
            record = {"environment": env, "suite": name, "seconds": round(time.perf_counter() - started, 1),
                      "results": rows}
            (args.out / f"kernels_{name}.json").write_text(json.dumps(record, indent=1))
        _log(f"wrote {args.out / f'kernels_{name}.json'} ({round(time.perf_counter() - started, 1)} s)")


if __name__ == "__main__":
    main()

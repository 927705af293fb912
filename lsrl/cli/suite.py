"""Subcommand ``lsrl suite``: parses its arguments and calls ``lsrl.suite.run_suite``; ``lsrl.cli`` registers
it with ``add_subcommands``."""
from __future__ import annotations

import argparse


def _suite(args: argparse.Namespace) -> int:
    from lsrl.suite import OUTCOMES, run_suite

    result = run_suite(args.paths, args.arch.split(","), args.out, args.jobs, args.timeout, args.keep_models,
                       args.max_memory or None, progress=not args.quiet)
    counts = {o: sum(r["outcome"] == o for r in result.records) for o in OUTCOMES}
    print(f"{len(result.records)} cells ({result.skipped} finished earlier), {result.wall_s:.1f} s: "
          + ", ".join(f"{n} {o}" for o, n in counts.items() if n))
    print("tables: " + ", ".join(str(f) for f in result.files))
    return 0


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    """Register suite."""
    from lsrl.workers import default_jobs

    p = sub.add_parser("suite", help="classify, compile and certify many automata for several classes, in parallel",
                       description="Every (automaton, class) cell ends as certified (kind), compiled (not certified: "
                                   "why), refused (theorem), no construction, error (message) or timed out; records "
                                   "are appended to OUT/records.jsonl as cells end, and a rerun skips finished cells. "
                                   "Tables: OUT/suite.md, .tex, .json.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="task names ('library': the task library), DFA .json files, AT&T files (.att, .fst.txt, .txt; "
                        "STEM.syms beside one is its symbol table), files of regexes one per line (.regex), or "
                        "directories of these")
    p.add_argument("--arch", required=True, help="comma-separated architecture classes or aliases (lsrl archs)")
    p.add_argument("--out", required=True, help="the output directory (new, or an earlier suite's to resume)")
    p.add_argument("--jobs", type=int, default=None, help=f"worker processes (default: every core, here {default_jobs()})")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a cell may take before it is recorded as "
                   "timed out and its worker killed (default 120); a rerun with a longer one retries those cells")
    p.add_argument("--keep-models", action="store_true", help="keep each compiled model in OUT/models/ (default: "
                   "records only)")
    p.add_argument("--max-memory", type=float, default=4.0, help="GiB of address space per worker (default 4; 0: no "
                   "limit); a cell past it ends in error")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    p.set_defaults(handler=_suite)

"""How many threads torch and numpy's BLAS use in a command: one by default (``--threads N`` overrides), set before they
load."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
COMMANDS = ("compile", "verify", "run", "train", "reproduce", "extract")


def requested(argv: Sequence[str]) -> int:
    """The ``--threads`` value among ``argv`` (1 if absent or not a positive integer: the command's own
    parser then reports a bad value)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--threads", default="1")
    try:
        value = parser.parse_known_args(list(argv))[0].threads
    except argparse.ArgumentError:
        return 1
    return int(value) if value.isdigit() and int(value) > 0 else 1


def limit(threads: int) -> None:
    """Use ``threads`` threads from now on: the environment torch and the BLAS read when they load, and
    torch's own setting if it is loaded already (a BLAS loaded already keeps its pool)."""
    for variable in VARIABLES:
        os.environ[variable] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of threads, got {text!r}")
    return int(text)


# One by default: lsrl's models are small, and on a shared machine every extra thread spins against the others
# (``lsrl train parity`` took 162 s with torch's one thread per core, 30 s with one; an S_5 verify 6.4 s of CPU with
# two BLAS threads, 0.9 s with one).
def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_positive, default=1,
                        help="threads for torch and the BLAS (default 1: the models are small)")

"""Compiled sizes of every example for every class with a program backend, or the refusal; writes JSON with the
versions, which docs/compiled-sizes.md reads."""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from bench.environment import environment
from lsrl.compiler.errors import ConstructNotExpressible
from lsrl.compiler.pipeline import compile_program
from lsrl.compiler.ranges import InputRanges, Interval, Lattice
from lsrl.lang.check import check_file
from models import registry
from models.config import PORTS, ModelConfig

ROOT = Path(__file__).resolve().parents[1]
INTEGERS = Lattice.of(Fraction(1), Fraction(0))
ON_GRID = Lattice.of(Fraction(1, 64), Fraction(0))
UNIT = Interval(Fraction(0), Fraction(1), ON_GRID)
VALUES = Interval(Fraction(-4), Fraction(4), ON_GRID)


@dataclass(frozen=True)
class Config:
    """One program as compiled: file, --param values, input ranges, --max-length, --approximate."""

    name: str
    path: str
    params: dict[str, Fraction] = field(default_factory=dict)
    ranges: InputRanges | None = None
    max_length: int = 12
    approximate: bool = False


def _tokens(low: int, high: int) -> Interval:
    return Interval(Fraction(low), Fraction(high), INTEGERS)


EXACT_PAPER = {"SCALE": Fraction(1024)}
CONFIGS = (
    Config("automaton", "examples/automaton.lsrl"),
    Config("counter", "examples/counter.lsrl"),
    Config("ifelse", "examples/ifelse.lsrl", ranges={"v": _tokens(-5, 5)}),
    Config("mod_counter", "examples/mod_counter.lsrl"),
    Config("mod_counter K=4", "examples/mod_counter.lsrl", {"K": Fraction(4)}),
    Config("parity", "examples/parity.lsrl"),
    Config("token_map", "examples/token_map.lsrl", ranges={"token": _tokens(0, 9)}),
    Config("universal_continuous", "examples/universal_continuous.lsrl", ranges={"token": [UNIT, UNIT, VALUES]}),
    *(Config(f"more_ones_or_zeros SCALE={scale}", "examples/lsrl-paper/more_ones_or_zeros.lsrl",
             {"SCALE": Fraction(scale)}, {"x": _tokens(0, 1)}, 64, scale == 1000) for scale in (1024, 1000)),
    *(Config(f"continuous {kind} SCALE={scale}", "examples/lsrl-paper/continuous.lsrl",
             {"MULTIPLICATIVE": Fraction(mul), "SCALE": Fraction(scale)},
             {"token": [UNIT, UNIT, UNIT, VALUES]}, 65, scale == 1000)
      for kind, mul in (("relu", 0), ("gated", 1)) for scale in (1024, 1000)),
    *(Config(f"token_map {kind} SCALE={scale}", "examples/lsrl-paper/token_map.lsrl",
             {"MULTIPLICATIVE": Fraction(mul), "SCALE": Fraction(scale), "ROTATION": Fraction(int(scale == 1000))},
             {"token": _tokens(0, 9)}, 153, scale == 1000)
      for kind, mul in (("gated", 1), ("relu", 0)) for scale in (1024, 1000)),
    *(Config(f"modulo_counter DIVISOR={d}", "examples/lsrl-paper/modulo_counter.lsrl", {"DIVISOR": Fraction(d)},
             {"x": _tokens(0, 1)}, 256, True) for d in (3, 6)),
    *(Config(f"conditionals SCALE={scale}", "examples/lsrl-paper/conditionals.lsrl",
             {"SCALE": Fraction(scale), "EQ_SCALE": Fraction(eq)}, {"v": _tokens(-8, 8)}, 12, scale == 1000)
      for scale, eq in ((1024, 16384), (1000, 10000))),
)


def channel_indices(config: ModelConfig) -> int:
    """How many channel indices the ported model's config.json lists (which channels each map reads and writes)."""
    return len(config.readout_reads) + sum(len(getattr(layer, name)) for layer in config.layers for name in PORTS)


def measure(config: Config, arch: str, dtype: str) -> dict:
    """The compiled size and bound of one program on one class, or the refusal."""
    program = check_file(ROOT / config.path, config.params)
    started = time.perf_counter()
    row = {"program": config.name, "arch": arch, "dtype": dtype, "max_length": config.max_length,
           "approximate": config.approximate}
    try:
        compiled = compile_program(program, arch, config.ranges, config.max_length, dtype, config.approximate)
    except ConstructNotExpressible as error:
        location = error.location
        where = f"{Path(location.file).relative_to(ROOT)}:{location.line}:{location.col}" if location else None
        return row | {"refused": error.reason, "construct": error.construct, "at": where}
    bounds = {e.name: float(e.bound) for e in compiled.errors}
    return row | compiled.size() | {"channel_indices": channel_indices(compiled.model.config),
                                    "exact": compiled.exact, "error_bounds": bounds,
                                    "correct_up_to": compiled.correct_up_to,
                                    "seconds": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Every example (examples/*.lsrl, and LSRL's programs ported in examples/lsrl-paper/ in their configurations):
layers, widths, parameters, the channel indices of the ported maps and the proved float bound, or the refusal
(the construct and why).

  python -m bench.compiled_sizes --out bench/results/compiled_sizes.json
  python -m bench.compiled_sizes --dtype float32 --only modulo_counter \\
      --out bench/results/compiled_sizes_modulo_counter_float32.json
""")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/compiled_sizes.json")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--only", help="a program name prefix")
    args = parser.parse_args()
    archs = [a.name for a in registry.with_path("program")]
    rows = []
    for config in CONFIGS:
        if args.only and not config.name.startswith(args.only):
            continue
        for arch in archs:
            rows.append(measure(config, arch, args.dtype))
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": environment(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
